/**
 * Job throughput: many small jobs (256 KiB, one PutObject each) through the whole pipeline
 * (POST /v1/jobs → queue → two workers at their default concurrency → emulator), beside bare
 * BullMQ running no-op jobs on the same Redis with the same total concurrency, in one run. Both
 * are fed by a closed loop of concurrent submitters. Prints jobs/s (first submit to last
 * completion), p50/p99 submit→done latency, p50/p99 service time (started→done, i.e. without the
 * wait in the queue), the ratio, and the CPU each process used.
 *   npm run bench:jobs                                 (2,000 jobs, 32 submitters, 1 round)
 *   BENCH_JOBS=200 BENCH_SUBMITTERS=32 BENCH_JOBS_ROUNDS=1 npm run bench:jobs
 *   BENCH_WORKER_CONCURRENCY=8 npm run bench:jobs     (each worker's WORKER_CONCURRENCY; BullMQ's follows)
 * Completion times of our jobs come from the `{vod-ingest}:events` stream (see JobEventTail),
 * not from polling the api; BullMQ's from its own `finishedOn`.
 * Needs the compiled services: the npm script builds first.
 */
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { Queue, Worker, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { Agent, setGlobalDispatcher } from 'undici';
import { createRedis } from '@vod-ingest/shared';
import { startStack, writeRandomFile, type Stack } from '../test/e2e/stack.js';
import { JobEventTail } from './job-events.js';
import { forEachConcurrent, median, quantile } from './load.js';
import { CpuMeter, findRedisPid, formatCpu } from './proc-cpu.js';

const total = Number(process.env.BENCH_JOBS ?? '2000');
const submitters = Number(process.env.BENCH_SUBMITTERS ?? '32');
const rounds = Number(process.env.BENCH_JOBS_ROUNDS ?? '1');
const JOB_SIZE = 256 * 1024;
const WORKERS = 2;
/** WORKER_CONCURRENCY of each worker; the worker's default is 2. */
const PER_WORKER = Number(process.env.BENCH_WORKER_CONCURRENCY ?? '2');
/** What the api gives every ingest job (services/api/src/ingest.queue.ts with its config defaults). */
const API_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: { age: 86_400, count: 10_000 },
  removeOnFail: { age: 7 * 86_400 },
};
setGlobalDispatcher(new Agent({ connections: submitters, keepAliveTimeout: 30_000 }));

/** One job: when its submit started (client clock), was accepted, started and ended (ms since the epoch). */
interface Timing {
  submitMs: number;
  acceptedMs: number;
  startedMs?: number;
  endedMs: number;
}
interface Result {
  timings: Timing[];
  cpu: Record<string, number>;
  wall: number;
  /** Redis commands run during the round, those inside Lua scripts included. */
  redisCommands: number;
}
/** Submits `count` jobs from the closed loop, then waits for all of them to end. */
type Runner = (count: number, label: string) => Promise<Timing[]>;

function pipelineRunner(stack: Stack, tail: JobEventTail, file: string): Runner {
  return async (count, label) => {
    const accepted: Array<{ id: string; submitMs: number; acceptedMs: number }> = [];
    await forEachConcurrent(count, submitters, async (i) => {
      const submitMs = Date.now();
      const r = await stack.submit({ source: { type: 'file', path: file }, target: { type: 'oss', bucket: stack.emu.bucket, key: `bench/${label}/${i}.bin` } });
      if (r.status !== 202) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
      accepted.push({ id: r.body.id, submitMs, acceptedMs: Date.now() });
    });
    return Promise.all(
      accepted.map(async (a) => {
        const t = await tail.wait(a.id);
        if (t.type !== 'job.succeeded') throw new Error(`job ${a.id} ended ${t.type}: ${JSON.stringify((await stack.job(a.id)).error)}`);
        return { submitMs: a.submitMs, acceptedMs: a.acceptedMs, startedMs: t.startedMs, endedMs: t.endedMs };
      }),
    );
  };
}

/** Bare BullMQ in this process: a Queue, and one Worker whose concurrency equals our two workers' together. */
function bullmqRunner(redisUrl: string): { run: Runner; close: () => Promise<void> } {
  const prefix = '{bench-bullmq}';
  const producer = createRedis(redisUrl, { blocking: false, name: 'bench-bullmq-queue' });
  const consumer = createRedis(redisUrl, { name: 'bench-bullmq-worker' });
  const queue = new Queue('noop', { connection: producer, prefix });
  const worker = new Worker('noop', async () => undefined, { connection: consumer, prefix, concurrency: WORKERS * PER_WORKER });
  const done = new Map<string, { startedMs?: number; endedMs: number }>();
  worker.on('completed', (job) => done.set(job.id!, { startedMs: job.processedOn, endedMs: job.finishedOn ?? Date.now() }));
  const run: Runner = async (count, label) => {
    const submitted = new Map<string, { submitMs: number; acceptedMs: number }>();
    await forEachConcurrent(count, submitters, async (i) => {
      const submitMs = Date.now();
      await queue.add('noop', { i }, { ...API_JOB_OPTIONS, jobId: `${label}-${i}` });
      submitted.set(`${label}-${i}`, { submitMs, acceptedMs: Date.now() });
    });
    // Completion times are BullMQ's own `finishedOn`, so looking for them late changes nothing.
    while ([...submitted.keys()].some((id) => !done.has(id))) await new Promise((r) => setTimeout(r, 50));
    return [...submitted].map(([id, s]) => ({ ...s, ...done.get(id)! }));
  };
  const close = async () => {
    await worker.close();
    await queue.obliterate({ force: true });
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
  };
  return { run, close };
}

/** Commands Redis has run so far (INFO commandstats counts those inside scripts too). */
async function redisCommandCount(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

async function measure(run: Runner, label: string, meter: CpuMeter, redis: Redis): Promise<Result> {
  await run(2 * WORKERS * PER_WORKER, `${label}-warmup`);
  const commands0 = await redisCommandCount(redis);
  meter.start();
  const timings = await run(total, label);
  const { cpu, wall } = meter.stop();
  return { timings, cpu, wall, redisCommands: (await redisCommandCount(redis)) - commands0 };
}

interface Summary {
  perSecond: number;
  acceptedPerSecond: number;
  p50: number;
  p99: number;
  serviceP50: number;
  serviceP99: number;
}

function summarize(ts: Timing[]): Summary {
  const first = Math.min(...ts.map((t) => t.submitMs));
  const latency = ts.map((t) => t.endedMs - t.submitMs).sort((a, b) => a - b);
  const service = ts
    .filter((t) => t.startedMs !== undefined)
    .map((t) => t.endedMs - t.startedMs!)
    .sort((a, b) => a - b);
  return {
    perSecond: ts.length / ((Math.max(...ts.map((t) => t.endedMs)) - first) / 1000),
    acceptedPerSecond: ts.length / ((Math.max(...ts.map((t) => t.acceptedMs)) - first) / 1000),
    p50: quantile(latency, 0.5),
    p99: quantile(latency, 0.99),
    serviceP50: quantile(service, 0.5),
    serviceP99: quantile(service, 0.99),
  };
}

/** Prints the median round of each figure and the CPU of the last round; returns the medians. */
function report(name: string, results: Result[]): Summary {
  const all = results.map((r) => summarize(r.timings));
  const m = (k: keyof Summary) => median(all.map((s) => s[k]));
  const s: Summary = {
    perSecond: m('perSecond'),
    acceptedPerSecond: m('acceptedPerSecond'),
    p50: m('p50'),
    p99: m('p99'),
    serviceP50: m('serviceP50'),
    serviceP99: m('serviceP99'),
  };
  const last = results[results.length - 1]!;
  console.log(
    `${name.padEnd(52)} ${s.perSecond.toFixed(0).padStart(6)} jobs/s   submit→done p50 ${s.p50.toFixed(0).padStart(6)} ms  p99 ${s.p99.toFixed(0).padStart(6)} ms`,
  );
  console.log(`  started→done p50 ${s.serviceP50.toFixed(0)} ms  p99 ${s.serviceP99.toFixed(0)} ms   submits accepted at ${s.acceptedPerSecond.toFixed(0)}/s`);
  console.log(`  CPU (share of one core): ${formatCpu(last.cpu, last.wall)}   Redis commands per job ${(last.redisCommands / total).toFixed(1)}`);
  return s;
}

const stack = await startStack({ workers: WORKERS, workerEnv: { WORKER_CONCURRENCY: String(PER_WORKER) } });
const tail = await JobEventTail.open(stack.redis.url).catch(async (err: unknown) => {
  await stack.stop();
  throw err;
});
const bull = bullmqRunner(stack.redis.url);
const redis = createRedis(stack.redis.url, { blocking: false, name: 'bench-stats' });
try {
  const file = path.join(stack.inbox, 'bench-256k.bin');
  await writeRandomFile(file, JOB_SIZE);
  const pids = Object.fromEntries([
    ...stack.workers.map((w, i) => [`worker${i + 1}`, w.proc.pid] as const),
    ['api', stack.api.proc.pid],
    ['token', stack.token.proc.pid],
    ['emulator', stack.emu.proc.pid],
    ['redis', findRedisPid(Number(new URL(stack.redis.url).port))],
    ['bench', process.pid],
  ]);
  const meter = new CpuMeter(pids);
  const ours = pipelineRunner(stack, tail, file);
  const load0 = loadavg()[0]!;
  const results = { ours: [] as Result[], bull: [] as Result[] };
  for (let r = 0; r < rounds; r++) {
    results.ours.push(await measure(ours, `ours-${r}`, meter, redis));
    results.bull.push(await measure(bull.run, `bullmq-${r}`, meter, redis));
  }
  console.log(
    `\n${total} jobs, ${submitters} concurrent submitters, ${rounds} round(s) each after a warm-up (Node ${process.version}, ${cpus().length} cores, Redis ${stack.redis.kind}, load average ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)})`,
  );
  const a = report(`vod-ingest: API → queue → ${WORKERS} workers × ${PER_WORKER}, 256 KiB PUT`, results.ours);
  const b = report(`bare BullMQ: Queue + Worker × ${WORKERS * PER_WORKER}, no-op`, results.bull);
  console.log(
    `ratio ours/BullMQ: throughput ${(a.perSecond / b.perSecond).toFixed(3)}x, p50 ${(a.p50 / b.p50).toFixed(1)}x, p99 ${(a.p99 / b.p99).toFixed(1)}x`,
  );
} finally {
  await bull.close();
  await tail.close();
  redis.disconnect();
  await stack.stop();
}
