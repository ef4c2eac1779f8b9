/**
 * Cost per job: many small jobs (256 KiB, one PutObject each) through vod-ingest (POST /v1/jobs →
 * queue → two workers × WORKER_CONCURRENCY 2 → emulator), beside the naive peer a team writes in
 * an afternoon (bench/peer: an express `POST /jobs` → BullMQ `queue.add`, and two BullMQ worker
 * processes × concurrency 2 that read the file and do one ali-oss `put` with an STS credential
 * fetched once from our token service) — same file, same emulator, same Redis (the peer under
 * its own prefix `{naive}`), same closed loop of submitters. A third system is vod-ingest again
 * with one webhook endpoint configured (WEBHOOK_URLS → a sink in this process that answers 204).
 *
 * Rounds alternate, every other round in reverse (ours, ours+webhook, peer; peer, ours+webhook,
 * ours; …), so that no system is always the one measured first while the shared machine drifts
 * (it does: one system's rounds vary by ±15% in one run); each round starts the system's workers
 * afresh, runs a warm-up, then the measured jobs, and stops the workers, so that no idle worker
 * of another system polls Redis or takes a core during a round. The apis and the token service
 * run throughout. Printed per system:
 * - jobs/s: jobs / (first submit → last completion), the median round; p50/p99 submit→done and
 *   started→done (without the wait in the queue). Round by round, the two phases of a round: while
 *   jobs are being submitted (the api and the submitters take their share of the cores) and after
 *   the last one was accepted (the slots drain the queue), each with the jobs/s that ended in it.
 * - CPU-ms per job per process, from /proc (bench/proc-cpu.ts), over all measured rounds. The
 *   per-job total is api + workers + token service for ours, api + workers for the peer; the
 *   emulator, Redis and this bench process are printed beside it, not counted. Then round by
 *   round, jobs/s beside each process's CPU-ms per job (workers summed): on 2 shared cores a slow
 *   round is one where everything, the emulator and the api included, spent more per job. Beside
 *   them, the machine's idle share over the round and the share the hypervisor took (steal, from
 *   /proc/stat): a round with much steal ran on less than 2 cores.
 * - Redis commands per job: the delta of `INFO commandstats` over the round (commands run inside
 *   Lua scripts included), minus every command this bench sent itself in the window (the INFO
 *   reads and the completion tail's XREADs on `{vod-ingest}:events`, counted per command on those
 *   connections), divided by the jobs. The peer's completions come from its workers over IPC, so
 *   watching the peer sends Redis nothing. The window closes only once Redis has gone quiet after
 *   the last completion (what the dispatcher and webhook deliveries do after a job ended counts).
 *   The webhook delivery queue is paused outside the rounds of the system with the endpoint: a
 *   delivery retried by a delivery job, rounds later, counts to that system, not to the one whose
 *   workers happen to run then.
 *   What the long-running apis and token service send while idle is measured before the rounds
 *   and printed; it is counted, not subtracted.
 * - Redis reads per job: the delta of `total_reads_processed` (INFO stats) less one per command
 *   the bench sent: about one per round trip, however many commands a client sends in one write.
 * - Redis µs per job by command (`usec` of INFO commandstats), where Redis's time goes: a script's
 *   time includes the commands it runs, and the bench's own reads cannot be taken out of it.
 * - Ratios ours/peer: jobs/s, CPU-ms per job, Redis commands per job, and the issue's targets;
 *   jobs/s also round by round, and as the geometric mean of those paired ratios with its 95%
 *   interval (bench/load.ts ratioInterval): an interval that holds 1.0 cannot tell the two apart.
 *
 *   npm run bench:jobs                  (2,000 jobs a round, 32 submitters, 4 rounds per system)
 *   BENCH_JOBS=300 BENCH_JOBS_ROUNDS=2 npm run bench:jobs
 *   BENCH_SUBMITTERS=32                 (concurrent submitters, closed loop)
 *   BENCH_WORKER_CONCURRENCY=2          (WORKER_CONCURRENCY and WORKER_SMALL_CONCURRENCY of each of our
 *                                        workers: 256 KiB jobs run in the small lane; the peer's follows)
 *   BENCH_WARMUP=200                    (jobs before each measured round)
 *   BENCH_PRIME=1000                    (jobs of each system, unmeasured, before the first round)
 *   BENCH_WEBHOOK=0                     (skip the system with a webhook endpoint)
 * Completion times of our jobs come from the `{vod-ingest}:events` stream (see JobEventTail);
 * the peer's from BullMQ's `processedOn`/`finishedOn`, reported by its workers. The api's
 * JOB_RATE_LIMIT is raised so that back-to-back rounds are not refused (the limit still runs).
 * Needs the compiled services: the npm script builds first.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Agent, setGlobalDispatcher } from 'undici';
import { createRedis, KEY_PREFIX, QUEUES } from '@vod-ingest/shared';
import { startStack, writeRandomFile, type Stack } from '../test/e2e/stack.js';
import { countCommands, JobEventTail } from './job-events.js';
import { forEachConcurrent, median, ratioInterval, summarize, type JobRunner, type JobTiming, type Summary } from './load.js';
import { NaivePeer } from './peer/naive-peer.js';
import { CpuMeter, findRedisPid, type MachineShares } from './proc-cpu.js';

const total = Number(process.env.BENCH_JOBS ?? '2000');
const submitters = Number(process.env.BENCH_SUBMITTERS ?? '32');
const rounds = Number(process.env.BENCH_JOBS_ROUNDS ?? '4');
const warmup = Number(process.env.BENCH_WARMUP ?? '200');
const prime = Number(process.env.BENCH_PRIME ?? '1000');
const withWebhook = process.env.BENCH_WEBHOOK !== '0';
const JOB_SIZE = 256 * 1024;
const WORKERS = 2;
/** WORKER_CONCURRENCY and WORKER_SMALL_CONCURRENCY of each worker (both default to 2). */
const PER_WORKER = Number(process.env.BENCH_WORKER_CONCURRENCY ?? '2');
/** Processes shown beside each system but not counted in its CPU per job. */
const SHARED = ['emulator', 'redis', 'bench'];
setGlobalDispatcher(new Agent({ connections: submitters, keepAliveTimeout: 30_000 }));

/** A system under test: its processes are metered while `run` is measured between `start` and `stop`. */
interface System {
  name: string;
  /** Starts the workers; resolves with the pids of the system's processes (its api and token service included). */
  start(): Promise<Record<string, number>>;
  run: JobRunner;
  stop(): Promise<void>;
  /** Webhook deliveries received so far, for the system with an endpoint. */
  deliveries?: () => number;
  /** Submissions retried after a 503 so far. */
  retried?: () => number;
}

interface Result {
  timings: JobTiming[];
  cpu: Record<string, number>;
  wall: number;
  /** How idle the machine was during the round, and how much the hypervisor took from it. */
  machine: MachineShares;
  /** Commands the systems ran during the round, by name (the bench's own taken out). */
  commands: Map<string, number>;
  /** Commands the bench's own connections sent during the round (taken out of `commands`). */
  benchCommands: number;
  /** Reads of the systems' sockets Redis made during the round (RedisCommands.reads). */
  reads: number;
  /** Microseconds Redis spent in each command during the round (RedisCommands.usec), the bench's own included. */
  usec: Map<string, number>;
  deliveries: number;
  retried: number;
}

/** What one `RedisCommands.snapshot` read: per command calls and microseconds, the bench's own commands, Redis's socket reads. */
interface RedisStats {
  calls: Map<string, number>;
  usec: Map<string, number>;
  sent: Map<string, number>;
  reads: number;
}

/** `INFO commandstats` less what the bench's own connections sent (`sent`, counted per command). */
class RedisCommands {
  readonly sent = new Map<string, number>();
  /** The bench's connection for INFO and its other reads: every command it sends is counted in `sent`. */
  readonly redis: Redis;

  constructor(url: string) {
    this.redis = createRedis(url, { blocking: false, name: 'bench-stats' });
    countCommands(this.redis, this.sent);
  }

  /**
   * Calls and microseconds per command so far. The bench's counts are taken before the INFO is
   * sent: INFO counts itself only in the next snapshot, as it does here.
   */
  async snapshot(): Promise<RedisStats> {
    const sent = new Map(this.sent);
    const info = (await this.redis.call('INFO', 'commandstats', 'stats')) as string;
    const stats = [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)];
    const calls = new Map(stats.map((m) => [m[1]!, Number(m[2])] as const));
    const usec = new Map(stats.map((m) => [m[1]!, Number(m[3])] as const));
    return { calls, usec, sent, reads: Number(/^total_reads_processed:(\d+)/m.exec(info)?.[1]) };
  }

  /**
   * Microseconds Redis spent in each command between two snapshots (`usec` of INFO commandstats),
   * the bench's own XREADs and INFOs included: their time cannot be told from the systems'. A
   * script's (EVALSHA's) time includes the commands it ran, which are listed under their own names too.
   */
  static usec(a: RedisStats, b: RedisStats): Map<string, number> {
    return new Map([...b.usec].map(([name, us]) => [name, us - (a.usec.get(name) ?? 0)] as const));
  }

  /**
   * Reads Redis made from its clients' sockets between two snapshots, less the bench's own (one
   * per command: the bench never sends two at once): how many times Redis woke up for what the
   * systems sent, about one per round trip, however many commands a client sends in one write.
   */
  static reads(a: RedisStats, b: RedisStats): number {
    return b.reads - a.reads - (sum(b.sent) - sum(a.sent));
  }

  /** What the systems ran between two snapshots, by command. */
  static delta(a: RedisStats, b: RedisStats): Map<string, number> {
    const d = new Map<string, number>();
    for (const [name, n] of b.calls) d.set(name, n - (a.calls.get(name) ?? 0));
    for (const [name, n] of b.sent) d.set(name, (d.get(name) ?? 0) - (n - (a.sent.get(name) ?? 0)));
    return d;
  }

  close(): void {
    this.redis.disconnect();
  }
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** Waits until the systems send Redis at most `quiet` commands in 500 ms (up to `maxMs`): the tail of the last jobs is done. */
async function settle(rc: RedisCommands, quiet = 5, maxMs = 20_000): Promise<void> {
  let prev = await rc.snapshot();
  for (const end = Date.now() + maxMs; Date.now() < end; ) {
    await sleep(500);
    const next = await rc.snapshot();
    if (sum(RedisCommands.delta(prev, next)) <= quiet) return;
    prev = next;
  }
  console.warn(`Redis still busy ${maxMs} ms after the last job ended; measuring anyway`);
}

function oursSystem(stack: Stack, tail: JobEventTail, file: string, name: string, env: Record<string, string>, label: string, webhooks: Queue): System {
  let running: Stack['workers'] = [];
  let retried = 0;
  return {
    name,
    retried: () => retried,
    async start() {
      // A failed webhook delivery is retried by a delivery job, maybe rounds later: only the system
      // with the endpoint may run them, or another system's workers would count them as theirs.
      await (env.WEBHOOK_URLS ? webhooks.resume() : webhooks.pause());
      running = await Promise.all(
        Array.from({ length: WORKERS }, () =>
          stack.startWorker({ WORKER_CONCURRENCY: String(PER_WORKER), WORKER_SMALL_CONCURRENCY: String(PER_WORKER), ...env }),
        ),
      );
      return Object.fromEntries([
        ['api', stack.api.proc.pid],
        ['token', stack.token.proc.pid],
        ...running.map((w, i) => [`worker${i + 1}`, w.proc.pid] as const),
      ]);
    },
    async run(count, round) {
      const accepted: Array<{ id: string; submitMs: number; acceptedMs: number }> = [];
      await forEachConcurrent(count, submitters, async (i) => {
        const submitMs = Date.now();
        const body = { source: { type: 'file', path: file }, target: { type: 'oss', bucket: stack.emu.bucket, key: `bench/${label}-${round}/${i}.bin` } };
        let r = await stack.submit(body);
        // A starved api answers 503 when Redis is late by a second (REDIS_TIMEOUT_MS); a client retries.
        for (let tries = 1; r.status === 503 && tries < 10; tries++, retried++) {
          await sleep(200);
          r = await stack.submit(body);
        }
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
    },
    async stop() {
      await Promise.all(running.map((w) => w.proc.stop(15_000)));
      stack.workers.splice(0, stack.workers.length, ...stack.workers.filter((w) => !running.includes(w)));
      running = [];
    },
  };
}

function peerSystem(peer: NaivePeer, file: string, bucket: string): System {
  const run = peer.runner(file, bucket);
  return {
    name: `naive peer: express → BullMQ → ${WORKERS} workers × ${PER_WORKER}, ali-oss put`,
    async start() {
      await peer.startWorkers(WORKERS, PER_WORKER);
      return Object.fromEntries([['api', peer.api.pid], ...peer.workers.map((w, i) => [`worker${i + 1}`, w.pid] as const)]);
    },
    run: (count, round) => run(count, `naive-${round}`),
    stop: () => peer.stopWorkers(),
  };
}

/** An HTTP endpoint that answers every request 204 and counts them. */
async function startSink(): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    count: () => n,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function measure(sys: System, round: number, rc: RedisCommands, shared: Record<string, number | undefined>): Promise<Result> {
  const pids = await sys.start();
  try {
    await sys.run(warmup, `${round}-warmup`);
    await settle(rc);
    const meter = new CpuMeter({ ...pids, ...shared });
    const deliveries0 = sys.deliveries?.() ?? 0;
    const retried0 = sys.retried?.() ?? 0;
    const s0 = await rc.snapshot();
    meter.start();
    const timings = await sys.run(total, String(round));
    await settle(rc);
    const { cpu, wall, machine } = meter.stop();
    const s1 = await rc.snapshot();
    const benchCommands = sum(s1.sent) - sum(s0.sent);
    return {
      timings,
      cpu,
      wall,
      machine,
      commands: RedisCommands.delta(s0, s1),
      benchCommands,
      reads: RedisCommands.reads(s0, s1),
      usec: RedisCommands.usec(s0, s1),
      deliveries: (sys.deliveries?.() ?? 0) - deliveries0,
      retried: (sys.retried?.() ?? 0) - retried0,
    };
  } finally {
    await sys.stop();
  }
}

/** What the ratios compare. */
interface Figures {
  perSecond: number;
  /** jobs/s of each round. */
  rounds: number[];
  cpuMsPerJob: number;
  commandsPerJob: number;
  readsPerJob: number;
}

/** A share as a whole percentage. */
const pct = (share: number) => `${(100 * share).toFixed(0)}%`;

/** One round's CPU-ms per job by process, the workers summed: how a round's jobs/s goes with what each process spent. */
function perProcess(r: Result): [string, number][] {
  const ms = new Map<string, number>();
  for (const [p, s] of Object.entries(r.cpu)) {
    const name = p.startsWith('worker') ? 'workers' : p;
    ms.set(name, (ms.get(name) ?? 0) + (1000 * s) / r.timings.length);
  }
  return [...ms].filter(([p]) => p !== 'token');
}

/** Prints one system's figures over its rounds: median jobs/s, CPU-ms and Redis commands per job over all of them. */
function report(name: string, results: Result[]): Figures {
  const all = results.map((r) => summarize(r.timings));
  const m = (k: keyof Summary) => median(all.map((s) => s[k]));
  const jobs = results.reduce((n, r) => n + r.timings.length, 0);
  const cpuMs: Record<string, number> = {};
  for (const r of results) for (const [p, s] of Object.entries(r.cpu)) cpuMs[p] = (cpuMs[p] ?? 0) + (1000 * s) / jobs;
  const commands = new Map<string, number>();
  for (const r of results) for (const [c, n] of r.commands) commands.set(c, (commands.get(c) ?? 0) + n);
  const fmt = (entries: [string, number][]) => entries.map(([p, ms]) => `${p} ${ms.toFixed(2)}`).join(' · ');
  const counted = Object.entries(cpuMs)
    .filter(([p]) => !SHARED.includes(p))
    .sort((a, b) => b[1] - a[1]);
  const cpuMsPerJob = counted.reduce((n, [, ms]) => n + ms, 0);
  const commandsPerJob = sum(commands) / jobs;
  const top = [...commands]
    .filter(([, n]) => n / jobs >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${(n / jobs).toFixed(1)}`)
    .join(' · ');
  console.log(`\n${name}`);
  console.log(
    `  ${m('perSecond').toFixed(1)} jobs/s (median; rounds ${all.map((s) => s.perSecond.toFixed(1)).join(', ')})   submit→done p50 ${m('p50').toFixed(0)} ms p99 ${m('p99').toFixed(0)} ms   started→done p50 ${m('serviceP50').toFixed(0)} ms p99 ${m('serviceP99').toFixed(0)} ms`,
  );
  console.log(`  CPU-ms per job: ${fmt(counted)} = ${cpuMsPerJob.toFixed(2)}   not counted: ${fmt(SHARED.map((p) => [p, cpuMs[p] ?? NaN]))}`);
  const machine = (r: Result) => `machine idle ${pct(r.machine.idle)} · steal ${pct(r.machine.steal)}`;
  console.log(
    `  round by round, jobs/s (CPU-ms per job): ${results.map((r, i) => `${all[i]!.perSecond.toFixed(0)} (${fmt(perProcess(r))}; ${machine(r)})`).join(', ')}`,
  );
  const phases = (x: Summary, n: number) => {
    const rate = (jobsDone: number, ms: number) => (ms > 0 ? ((jobsDone * 1000) / ms).toFixed(0) : 'n/a');
    return `${(x.submitPhaseMs / 1000).toFixed(1)} s submitting (${rate(x.endedWhileSubmitting, x.submitPhaseMs)}/s ended meanwhile), then ${(x.drainMs / 1000).toFixed(1)} s (${rate(n - x.endedWhileSubmitting, x.drainMs)}/s)`;
  };
  console.log(`  round by round, the two phases: ${all.map((x, i) => phases(x, results[i]!.timings.length)).join('; ')}`);
  const benchPerJob = results.reduce((n, r) => n + r.benchCommands, 0) / jobs;
  const perRound = results.map((r) => (sum(r.commands) / r.timings.length).toFixed(1)).join(', ');
  console.log(`  Redis commands per job: ${commandsPerJob.toFixed(1)} (rounds ${perRound})   ${top}; the bench's own ${benchPerJob.toFixed(2)} taken out`);
  const reads = results.reduce((n, r) => n + r.reads, 0) / jobs;
  console.log(`  Redis reads per job (about one per round trip, however many commands it carries): ${reads.toFixed(2)}`);
  const usec = new Map<string, number>();
  for (const r of results) for (const [c, us] of r.usec) usec.set(c, (usec.get(c) ?? 0) + us);
  const slowest = [...usec]
    .filter(([, us]) => us / jobs >= 5)
    .sort((a, b) => b[1] - a[1])
    .map(([c, us]) => `${c} ${(us / jobs).toFixed(0)}`)
    .join(' · ');
  console.log(`  Redis µs per job by command (a script's includes the commands it runs; the bench's XREAD and INFO included): ${slowest}`);
  const deliveries = results.reduce((n, r) => n + r.deliveries, 0);
  if (deliveries > 0) console.log(`  webhook deliveries per job: ${(deliveries / jobs).toFixed(2)}`);
  const retried = results.reduce((n, r) => n + r.retried, 0);
  if (retried > 0) console.log(`  submissions retried after a 503: ${retried} (a retried one may have been queued twice)`);
  return { perSecond: m('perSecond'), rounds: all.map((x) => x.perSecond), cpuMsPerJob, commandsPerJob, readsPerJob: reads };
}

/**
 * The issue's targets: jobs/s and CPU per job only for vod-ingest without a webhook endpoint (the
 * peer sends no webhooks), Redis commands per job for both.
 */
interface Targets {
  commands: number;
  perJob?: { jobsPerSecond: number; cpu: number };
}

/**
 * Prints a system's ratios to the peer's. Beside the ratio of the medians, jobs/s is given round
 * by round (each of our rounds against the peer's of the same round) and as the geometric mean of
 * those paired ratios with its 95% interval: how far the rounds let one tell the two apart.
 */
function ratios(name: string, a: Figures, b: Figures, targets: Targets): void {
  const paired = a.rounds.map((x, i) => x / b.rounds[i]!);
  const iv = ratioInterval(paired);
  const interval = paired.length > 1 ? `, 95% interval ${iv.low.toFixed(2)}–${iv.high.toFixed(2)}` : '';
  const { perJob } = targets;
  const speedTarget = perJob ? `target ≥ ${perJob.jobsPerSecond.toFixed(1)}` : 'no target: the peer sends no webhooks';
  const cpuTarget = perJob ? ` (target ≤ ${perJob.cpu})` : '';
  console.log(
    `${name.padEnd(24)} jobs/s ${(a.perSecond / b.perSecond).toFixed(2)}x (${speedTarget}; round by round ${paired.map((x) => x.toFixed(2)).join(', ')}; paired geometric mean ${iv.mean.toFixed(2)}x${interval})   CPU-ms/job ${(a.cpuMsPerJob / b.cpuMsPerJob).toFixed(2)}x${cpuTarget}   Redis commands/job ${(a.commandsPerJob / b.commandsPerJob).toFixed(2)}x (${a.commandsPerJob.toFixed(1)} vs ${b.commandsPerJob.toFixed(1)}; target ≤ ${targets.commands})   Redis reads/job ${a.readsPerJob.toFixed(2)} vs ${b.readsPerJob.toFixed(2)}`,
  );
}

const stack = await startStack({ workers: 0, apiEnv: { JOB_RATE_LIMIT: '100000000' } });
const rc = new RedisCommands(stack.redis.url);
const cleanup: Array<() => Promise<void>> = [async () => rc.close(), () => stack.stop()];
try {
  const tail = await JobEventTail.open(stack.redis.url, undefined, rc.sent);
  cleanup.unshift(() => tail.close());
  const sink = await startSink();
  cleanup.unshift(sink.close);
  const webhooks = new Queue(QUEUES.webhooks, { connection: rc.redis, prefix: KEY_PREFIX });
  cleanup.unshift(() => webhooks.close());
  const peer = await NaivePeer.start({
    redisUrl: stack.redis.url,
    tokenService: { url: stack.token.url, secret: stack.token.secret },
    oss: { endpoint: stack.emu.url, region: `oss-${stack.emu.region}` },
    submitters,
  });
  cleanup.unshift(() => peer.stop());
  const file = path.join(stack.inbox, 'bench-256k.bin');
  await writeRandomFile(file, JOB_SIZE);

  const shape = `${WORKERS} workers × ${PER_WORKER}, 256 KiB PUT`;
  const webhook = {
    ...oursSystem(stack, tail, file, `vod-ingest + 1 webhook endpoint: API → queue → ${shape}`, { WEBHOOK_URLS: sink.url }, 'webhook', webhooks),
    deliveries: sink.count,
  };
  const systems = [
    oursSystem(stack, tail, file, `vod-ingest: API → queue → ${shape}`, {}, 'ours', webhooks),
    ...(withWebhook ? [webhook] : []),
    peerSystem(peer, file, stack.emu.bucket),
  ];
  const shared = { emulator: stack.emu.proc.pid, redis: findRedisPid(Number(new URL(stack.redis.url).port)), bench: process.pid };

  // What runs all the time (the apis, the token service) sends while no job runs.
  const idle0 = await rc.snapshot();
  await sleep(5000);
  const idlePerSecond = sum(RedisCommands.delta(idle0, await rc.snapshot())) / 5;

  // One unmeasured pass of each system first: the shared emulator and Redis, and each api, are
  // warm before the first measured round (without it the system measured first pays for that).
  for (const sys of systems) {
    await sys.start();
    try {
      await sys.run(prime, 'prime');
    } finally {
      await sys.stop();
    }
  }
  await settle(rc);

  const load0 = loadavg()[0]!;
  const results = systems.map(() => [] as Result[]);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? [...systems.entries()] : [...systems.entries()].reverse();
    for (const [i, sys] of order) results[i]!.push(await measure(sys, r, rc, shared));
  }

  console.log(
    `\n${total} jobs a round, ${rounds} round(s) per system, each after ${warmup} warm-up jobs on fresh workers (and ${prime} of each system before the first); ${submitters} concurrent submitters (Node ${process.version}, ${cpus().length} cores, Redis ${stack.redis.kind}, load average ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)})`,
  );
  console.log(`Redis commands/s while no job runs (apis and token service idle, counted in the figures below): ${idlePerSecond.toFixed(1)}`);
  const figures = systems.map((s, i) => report(s.name, results[i]!));
  const peerFigures = figures[figures.length - 1]!;
  console.log('');
  ratios('ours/peer', figures[0]!, peerFigures, { commands: 45, perJob: { jobsPerSecond: 1, cpu: 1.3 } });
  if (withWebhook) ratios('ours+webhook/peer', figures[1]!, peerFigures, { commands: 70 });
} finally {
  for (const close of cleanup) await close();
}
