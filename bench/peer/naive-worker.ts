/**
 * The naive peer's worker, as a team writes it in an afternoon: a BullMQ Worker whose processor
 * reads the file and does one ali-oss `put`, with an STS credential fetched once from the token
 * service (`GET /v1/credentials/ingest`) and cached for the process's life. No CRC check, no
 * checkpoints, no events, no lock beyond BullMQ's own.
 *
 * Run by bench/jobs.bench.ts as a child process with an IPC channel. The bench learns of
 * completions from here, not from Redis, so that observing the peer costs Redis nothing: each
 * final outcome (`[id, processedOn, finishedOn, ok]`) is sent over IPC in batches every 50 ms.
 * Env: REDIS_URL, PEER_PREFIX, WORKER_CONCURRENCY, TOKEN_SERVICE_URL, TOKEN_SERVICE_SECRET,
 * OSS_ENDPOINT, OSS_REGION (e.g. `oss-cn-shanghai`).
 */
import { readFile } from 'node:fs/promises';
import OSS from 'ali-oss';
import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';

interface IngestData {
  path: string;
  bucket: string;
  key: string;
}
/** Job id, started and finished (ms since the epoch), and whether it succeeded. */
export type PeerOutcome = [id: string, startedMs: number, endedMs: number, ok: boolean];

const res = await fetch(new URL('/v1/credentials/ingest', process.env.TOKEN_SERVICE_URL), {
  headers: { authorization: `Bearer ${process.env.TOKEN_SERVICE_SECRET}` },
});
if (!res.ok) throw new Error(`token service: ${res.status} ${await res.text()}`);
const credential = (await res.json()) as { accessKeyId: string; accessKeySecret: string; securityToken: string };

const clients = new Map<string, OSS>();
const clientFor = (bucket: string) => {
  let client = clients.get(bucket);
  if (!client) {
    client = new OSS({
      endpoint: process.env.OSS_ENDPOINT,
      region: process.env.OSS_REGION,
      sldEnable: true,
      secure: false,
      bucket,
      accessKeyId: credential.accessKeyId,
      accessKeySecret: credential.accessKeySecret,
      stsToken: credential.securityToken,
    } as OSS.Options);
    clients.set(bucket, client);
  }
  return client;
};

const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const worker = new Worker<IngestData>(
  'ingest',
  async (job) => {
    const body = await readFile(job.data.path);
    await clientFor(job.data.bucket).put(job.data.key, body);
  },
  { connection, prefix: process.env.PEER_PREFIX ?? '{naive}', concurrency: Number(process.env.WORKER_CONCURRENCY ?? '2') },
);

let outcomes: PeerOutcome[] = [];
const report = (job: Job, ok: boolean) => outcomes.push([job.id!, job.processedOn ?? NaN, job.finishedOn ?? Date.now(), ok]);
worker.on('completed', (job) => report(job, true));
worker.on('failed', (job, err) => {
  if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return; // BullMQ retries it
  console.error(`job ${job.id} failed: ${err.message}`);
  report(job, false);
});
const flush = () => {
  if (outcomes.length === 0) return;
  process.send?.({ outcomes });
  outcomes = [];
};
const timer = setInterval(flush, 50);

await worker.waitUntilReady();
process.send?.({ ready: true });
process.once('SIGTERM', () => {
  void worker.close().finally(() => {
    clearInterval(timer);
    flush();
    connection.disconnect();
    process.exit(0);
  });
});
