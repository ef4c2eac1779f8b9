/**
 * One large file to an oss target through the whole pipeline (POST /v1/jobs → queue → one worker
 * with WORKER_CONCURRENCY=1 → emulator), side by side with ali-oss's own `multipartUpload` of the
 * same file with the same part size and parallelism to the same emulator. The two alternate
 * (ABAB) after one warm-up each; prints MB/s (median, 1 MB = 10^6 bytes), the ratio, and the CPU
 * each process used while the uploads ran.
 *   npm run bench:upload                                   (512 MiB, 3 rounds each)
 *   BENCH_UPLOAD_MIB=64 BENCH_UPLOAD_ROUNDS=2 npm run bench:upload
 * Needs the compiled services: the npm script builds first.
 */
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { adminOss, fileDigest, objectDigest, startStack, writeRandomFile, type Stack } from '../test/e2e/stack.js';
import { JobEventTail } from './job-events.js';
import { median } from './load.js';
import { CpuMeter, findRedisPid, formatCpu } from './proc-cpu.js';

const MiB = 1024 * 1024;
const size = Number(process.env.BENCH_UPLOAD_MIB ?? '512') * MiB;
const rounds = Number(process.env.BENCH_UPLOAD_ROUNDS ?? '3');
const partSize = 8 * MiB;
const parallel = 5;

type Uploader = (key: string) => Promise<number>;
interface Run {
  seconds: number;
  cpu: Record<string, number>;
}

/** Our pipeline: submit, then the ms at which the worker wrote `job.succeeded` (see JobEventTail). */
function pipelineUploader(stack: Stack, tail: JobEventTail, file: string): Uploader {
  return async (key) => {
    const r = await stack.submit({
      source: { type: 'file', path: file },
      target: { type: 'oss', bucket: stack.emu.bucket, key },
      upload: { partSize, parallel },
    });
    if (r.status !== 202) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
    const t = await tail.wait(r.body.id);
    if (t.type !== 'job.succeeded') throw new Error(`job ${r.body.id} ended ${t.type}: ${JSON.stringify((await stack.job(r.body.id)).error)}`);
    return t.endedMs;
  };
}

async function measure(upload: Uploader, key: string, meter: CpuMeter): Promise<Run> {
  meter.start();
  const t0 = Date.now();
  const endMs = await upload(key);
  return { seconds: (endMs - t0) / 1000, cpu: meter.stop().cpu };
}

async function verifyDigests(stack: Stack, file: string, keys: string[]): Promise<void> {
  const want = await fileDigest(file);
  for (const key of keys) {
    const got = await objectDigest(stack.emu, stack.emu.bucket, key);
    if (got !== want) throw new Error(`${key}: SHA-256 ${got} differs from the file's ${want}`);
  }
  console.log(`SHA-256 of both warm-up objects equals the file's (${want.slice(0, 16)}...)`);
}

function report(name: string, runs: Run[]): number {
  const mbps = runs.map((r) => size / 1e6 / r.seconds);
  const wall = runs.reduce((s, r) => s + r.seconds, 0);
  const cpu: Record<string, number> = {};
  for (const r of runs) for (const [p, s] of Object.entries(r.cpu)) cpu[p] = (cpu[p] ?? 0) + s;
  console.log(`${name.padEnd(56)} ${median(mbps).toFixed(0).padStart(5)} MB/s median   rounds ${mbps.map((m) => m.toFixed(0)).join(', ')}`);
  console.log(`  CPU (share of one core): ${formatCpu(cpu, wall)}`);
  return median(mbps);
}

const stack = await startStack({ workers: 1, workerEnv: { WORKER_CONCURRENCY: '1' } });
const tail = await JobEventTail.open(stack.redis.url).catch(async (err: unknown) => {
  await stack.stop();
  throw err;
});
try {
  const file = path.join(stack.inbox, 'bench-upload.bin');
  await writeRandomFile(file, size);
  const oss = await adminOss(stack.emu, stack.emu.bucket);
  const pids = {
    worker: stack.workers[0]!.proc.pid,
    api: stack.api.proc.pid,
    token: stack.token.proc.pid,
    emulator: stack.emu.proc.pid,
    redis: findRedisPid(Number(new URL(stack.redis.url).port)),
  };
  const meter = new CpuMeter({ ...pids, 'bench (ali-oss)': process.pid });
  const ours = pipelineUploader(stack, tail, file);
  const aliOss: Uploader = async (key) => (await oss.multipartUpload(key, file, { partSize, parallel }), Date.now());
  const load0 = loadavg()[0]!;

  await measure(ours, 'bench/warmup-ours.bin', meter);
  await measure(aliOss, 'bench/warmup-ali-oss.bin', meter);
  await verifyDigests(stack, file, ['bench/warmup-ours.bin', 'bench/warmup-ali-oss.bin']);
  for (const key of ['bench/warmup-ours.bin', 'bench/warmup-ali-oss.bin']) await oss.delete(key);
  const runs = { ours: [] as Run[], aliOss: [] as Run[] };
  for (let r = 0; r < rounds; r++) {
    // Each object is deleted after its round so the emulator's disk holds one at a time.
    runs.ours.push(await measure(ours, `bench/ours-${r}.bin`, meter));
    await oss.delete(`bench/ours-${r}.bin`);
    runs.aliOss.push(await measure(aliOss, `bench/ali-oss-${r}.bin`, meter));
    await oss.delete(`bench/ali-oss-${r}.bin`);
  }

  console.log(
    `\nUpload of ${size / MiB} MiB, part size ${partSize / MiB} MiB, parallel ${parallel}, ${rounds} rounds each ABAB after one warm-up each (Node ${process.version}, ${cpus().length} cores, Redis ${stack.redis.kind}, load average ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)})`,
  );
  const a = report('vod-ingest: API → queue → worker (submit→succeeded)', runs.ours);
  const b = report('ali-oss multipartUpload (in the bench process)', runs.aliOss);
  console.log(`ratio ours/ali-oss: ${(a / b).toFixed(2)}x`);
} finally {
  await tail.close();
  await stack.stop();
}
