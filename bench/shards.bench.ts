/**
 * One master against three (issue #9): the same small jobs (128 KiB file sources, one PutObject
 * each) through the whole stack on one local Redis Cluster of 3 masters with a replica each
 * (test/support/redis-cluster.ts) and one emulator, as two systems in the same run:
 * - A: REDIS_SHARDS=1 under KEY_PREFIX `{bench-1}`: every job record, queue and event stream in
 *   one slot, so on one master;
 * - B: REDIS_SHARDS=3 under KEY_PREFIX `{bench-3}`: three shards, each in a slot of another master.
 * Each system has an api of its own (the stack's env with its KEY_PREFIX and REDIS_SHARDS; both
 * run throughout) and the same workers: 2 × WORKER_CONCURRENCY 3 and WORKER_SMALL_CONCURRENCY 3,
 * which a worker of B splits into ceil(3 / 3) = 1 slot of each lane per shard, so that both run
 * as many jobs at once. The token service is shared (its cache is in the `{vod-ingest}` slot).
 *
 * Rounds alternate (A, B, A, B, …); each starts the system's workers afresh, runs a warm-up, then
 * the measured jobs from a closed loop of submitters, waits until Redis is as quiet as it was with
 * the workers idle, and stops the workers. Printed per system:
 * - jobs/s: jobs / (first submit → last completion), the median round. Completions come from
 *   every shard's event stream, polled (XRANGE every 100 ms) on a direct connection to its master;
 *   the times are the stream entry ids, so the polling does not move them.
 * - CPU-seconds per 1000 jobs of each master's redis-server, from /proc, over all measured rounds
 *   (= CPU-ms per job); the busiest master's share of the masters' CPU, its commands per job and
 *   CPU-µs per command; the replicas' and the Node processes' CPU beside.
 * - Redis commands per job, summed over the masters (`INFO commandstats`, commands inside Lua
 *   included; the bench's own polls and INFO reads are counted on its connections and taken out).
 * - Redis bytes per finished job: `used_memory` less `mem_total_replication_buffers`, summed over
 *   the masters, after the round settled minus before it, divided by the jobs (as
 *   bench/redis-memory.bench.ts, over the cluster). The replication buffers are left out because
 *   each master's backlog grows to repl-backlog-size (1 MB) during its first busy round, whichever
 *   system that is; the raw used_memory growth is printed beside.
 * - The ratios B/A.
 * What to expect on a 2-core machine: the Node processes (api, workers, emulator), not Redis, bound
 * jobs/s (a master runs at a few % of a core), so jobs/s stays about equal, or somewhat lower with
 * 3 shards, whose workers and api spend somewhat more CPU per job (three shards' BullMQ workers and
 * connections per process); rounds vary by tens of % on a shared machine, so read the median and
 * the per-round figures. What the shards change is where Redis works. That is what "a 3-master
 * cluster carries about three times what one master does" means: with 3 shards the busiest master
 * runs a third of the commands per job, and its CPU per job falls to a third in the ideal. Here it
 * falls to about half, not a third: a master this idle spends more CPU per command (fixed costs per
 * event-loop wakeup spread over fewer commands; the table prints CPU-µs per command), and 3 shards
 * cost the masters together somewhat more CPU per job than one (more connections, blocking pops and
 * idle polling of three shards' queues).
 *
 *   npm run bench:shards               (600 jobs a round, 32 submitters, 2 rounds per system)
 *   BENCH_JOBS=300 npm run bench:shards
 *   BENCH_SHARDS_ROUNDS=2              (rounds per system)
 *   BENCH_SUBMITTERS=32                (concurrent submitters, closed loop)
 *   BENCH_WORKER_CONCURRENCY=3         (WORKER_CONCURRENCY and WORKER_SMALL_CONCURRENCY of each of the 2 workers)
 *   BENCH_WARMUP=100                   (jobs before each measured round)
 *   BENCH_JOB_KIB=128                  (size of the source file)
 * The api's JOB_RATE_LIMIT is raised so that back-to-back rounds are not refused.
 * Needs the compiled services: the npm script builds first.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { Agent, setGlobalDispatcher } from 'undici';
import { shardPrefixes } from '@vod-ingest/shared';
import { startHttpService, type TestService } from '@vod-ingest/shared/testing';
import { KEYS, startStack, writeRandomFile, type Stack } from '../test/e2e/stack.js';
import { startRedisCluster, type TestRedisCluster } from '../test/support/redis-cluster.js';
import { countCommands, JobTimesBook, type JobTimes } from './job-events.js';
import { forEachConcurrent, median, summarize, type JobTiming } from './load.js';
import { CpuMeter } from './proc-cpu.js';

const total = Number(process.env.BENCH_JOBS ?? '600');
const submitters = Number(process.env.BENCH_SUBMITTERS ?? '32');
const rounds = Number(process.env.BENCH_SHARDS_ROUNDS ?? '2');
const warmup = Number(process.env.BENCH_WARMUP ?? '100');
const concurrency = process.env.BENCH_WORKER_CONCURRENCY ?? '3';
const JOB_SIZE = Number(process.env.BENCH_JOB_KIB ?? '128') * 1024;
const WORKERS = 2;
setGlobalDispatcher(new Agent({ connections: submitters, keepAliveTimeout: 30_000 }));

/** Calls per command, the bench's own sends and the memory of one master at one moment. */
interface Snapshot {
  calls: Map<string, number>;
  sent: Map<string, number>;
  usedMemory: number;
  /** `mem_total_replication_buffers`: the backlog and what is queued for the replica. */
  replicationBuffers: number;
}

/** A direct connection to one master: its INFO readings and the polls of the event streams it serves, all counted in `sent`. */
class Master {
  readonly sent = new Map<string, number>();
  readonly redis: Redis;

  constructor(
    readonly port: number,
    readonly pid: number | undefined,
  ) {
    this.redis = new Redis({ host: '127.0.0.1', port, connectionName: 'bench-stats', maxRetriesPerRequest: null });
    countCommands(this.redis, this.sent);
  }

  /** The bench's counts are taken before the INFO is sent: INFO counts itself only in the next snapshot. */
  async snapshot(): Promise<Snapshot> {
    const sent = new Map(this.sent);
    const info = (await this.redis.call('INFO', 'commandstats', 'memory')) as string;
    const calls = new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])] as const));
    const bytes = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)![1]);
    return { calls, sent, usedMemory: bytes('used_memory'), replicationBuffers: bytes('mem_total_replication_buffers') };
  }

  /** Commands the systems ran between two snapshots (the bench's own taken out). */
  static commands(a: Snapshot, b: Snapshot): number {
    let n = 0;
    for (const [name, calls] of b.calls) n += calls - (a.calls.get(name) ?? 0);
    for (const [name, sent] of b.sent) n -= sent - (a.sent.get(name) ?? 0);
    return n;
  }
}

const snapshotAll = (masters: Master[]) => Promise.all(masters.map((m) => m.snapshot()));
const commandsAll = (a: Snapshot[], b: Snapshot[]) => a.reduce((n, s, i) => n + Master.commands(s, b[i]!), 0);
const memoryAll = (s: Snapshot[]) => s.reduce((n, x) => n + x.usedMemory - x.replicationBuffers, 0);
const rawMemoryAll = (s: Snapshot[]) => s.reduce((n, x) => n + x.usedMemory, 0);

/**
 * Polls every shard's event stream (`<prefix>:events`) on the master that serves it, from the
 * entries written after `open`, and keeps each job's `job.started` and terminal times (the entry
 * ids, stamped by Redis when the worker's script wrote the transition).
 */
class Completions {
  private readonly book = new JobTimesBook();
  private running = true;
  private readonly loop: Promise<void>;

  private constructor(private readonly streams: Array<{ key: string; master: Master; last: string }>) {
    this.loop = this.follow();
  }

  static async open(streams: Array<{ key: string; master: Master }>): Promise<Completions> {
    const withLast = await Promise.all(
      streams.map(async (s) => ({ ...s, last: (await s.master.redis.xrevrange(s.key, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0' })),
    );
    return new Completions(withLast);
  }

  wait(jobId: string, timeoutMs?: number): Promise<JobTimes> {
    return this.book.wait(jobId, timeoutMs);
  }

  async close(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async follow(): Promise<void> {
    while (this.running) {
      for (const s of this.streams) {
        for (const [id, fields] of await s.master.redis.xrange(s.key, `(${s.last}`, '+', 'COUNT', 10_000)) {
          s.last = id;
          this.book.record(id, fields);
        }
      }
      await sleep(100);
    }
  }
}

/** A process's environment, from /proc: the second api gets the stack's api's, with its own KEY_PREFIX and REDIS_SHARDS. */
function environOf(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

interface System {
  name: string;
  label: string;
  /** KEY_PREFIX and REDIS_SHARDS of its api and workers. */
  env: Record<string, string>;
  prefixes: string[];
  api: TestService;
}

interface Result {
  timings: JobTiming[];
  cpu: Record<string, number>;
  /** Commands the systems ran during the round, per master (the bench's own taken out). */
  commands: number[];
  /** used_memory growth over the masters less their replication buffers', bytes. */
  memory: number;
  /** used_memory growth over the masters, bytes. */
  rawMemory: number;
  /** Commands per 500 ms over the masters with the workers started and idle (what `settle` waits for). */
  idlePerWindow: number;
  retried: number;
}

/** Waits until the masters run at most `quiet` commands in 500 ms (up to `maxMs`): the tail of the last jobs is done. */
async function settle(masters: Master[], quiet: number, maxMs = 20_000): Promise<void> {
  let prev = await snapshotAll(masters);
  for (const end = Date.now() + maxMs; Date.now() < end; ) {
    await sleep(500);
    const next = await snapshotAll(masters);
    if (commandsAll(prev, next) <= quiet) return;
    prev = next;
  }
  console.warn(`Redis still busy ${maxMs} ms after the last job ended; measuring anyway`);
}

async function submit(api: TestService, body: unknown): Promise<{ status: number; body: { id: string } }> {
  const res = await fetch(`${api.url}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { id: string } };
}

async function runJobs(
  stack: Stack,
  completions: Completions,
  sys: System,
  file: string,
  count: number,
  label: string,
): Promise<{ timings: JobTiming[]; retried: number }> {
  const accepted: Array<{ id: string; submitMs: number; acceptedMs: number }> = [];
  let retried = 0;
  await forEachConcurrent(count, submitters, async (i) => {
    const submitMs = Date.now();
    const body = { source: { type: 'file', path: file }, target: { type: 'oss', bucket: stack.emu.bucket, key: `bench/${sys.label}-${label}/${i}.bin` } };
    let r = await submit(sys.api, body);
    // A starved api answers 503 when Redis is late by a second (REDIS_TIMEOUT_MS); a client retries.
    for (let tries = 1; r.status === 503 && tries < 10; tries++, retried++) {
      await sleep(200);
      r = await submit(sys.api, body);
    }
    if (r.status !== 202) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
    accepted.push({ id: r.body.id, submitMs, acceptedMs: Date.now() });
  });
  const timings = await Promise.all(
    accepted.map(async (a) => {
      const t = await completions.wait(a.id);
      if (t.type !== 'job.succeeded') throw new Error(`job ${a.id} ended ${t.type}`);
      return { submitMs: a.submitMs, acceptedMs: a.acceptedMs, startedMs: t.startedMs, endedMs: t.endedMs };
    }),
  );
  return { timings, retried };
}

async function measure(
  stack: Stack,
  masters: Master[],
  completions: Completions,
  sys: System,
  file: string,
  round: number,
  pids: Record<string, number | undefined>,
): Promise<Result> {
  const env = { WORKER_CONCURRENCY: concurrency, WORKER_SMALL_CONCURRENCY: concurrency, ...sys.env };
  const running = await Promise.all(Array.from({ length: WORKERS }, () => stack.startWorker(env)));
  try {
    // What the idle workers (their blocking pops, sweepers, lease renewals) send: the level `settle` waits for.
    await sleep(1000);
    const i0 = await snapshotAll(masters);
    await sleep(2000);
    const idlePerWindow = commandsAll(i0, await snapshotAll(masters)) / 4;
    const quiet = 1.5 * idlePerWindow + 5;
    await runJobs(stack, completions, sys, file, warmup, `${round}-warmup`);
    await settle(masters, quiet);
    const meter = new CpuMeter({ ...pids, ...Object.fromEntries(running.map((w, i) => [`worker${i + 1}`, w.proc.pid])) });
    const s0 = await snapshotAll(masters);
    meter.start();
    const { timings, retried } = await runJobs(stack, completions, sys, file, total, String(round));
    await settle(masters, quiet);
    const { cpu } = meter.stop();
    const s1 = await snapshotAll(masters);
    return {
      timings,
      cpu,
      commands: s0.map((s, i) => Master.commands(s, s1[i]!)),
      memory: memoryAll(s1) - memoryAll(s0),
      rawMemory: rawMemoryAll(s1) - rawMemoryAll(s0),
      idlePerWindow,
      retried,
    };
  } finally {
    await Promise.all(running.map((w) => w.proc.stop(15_000)));
    stack.workers.splice(0, stack.workers.length, ...stack.workers.filter((w) => !running.includes(w)));
  }
}

/** What the table and the ratios compare. */
interface Figures {
  perSecond: number;
  /** jobs/s of each round. */
  rounds: number[];
  busiestCpu: number;
  busiestShare: number;
  /** Commands per job on the master that runs the most. */
  busiestCommands: number;
  /** CPU-µs per command on the busiest master (by CPU). */
  busiestUsPerCommand: number;
  mastersCpu: number;
  /** CPU-ms per job of the system's api, its workers, the token service and the emulator. */
  nodeMs: number;
  commandsPerJob: number;
  bytesPerJob: number;
}

/** Prints one system's figures over its rounds. */
async function report(cluster: TestRedisCluster, masters: Master[], sys: System, results: Result[]): Promise<Figures> {
  const jobs = results.reduce((n, r) => n + r.timings.length, 0);
  const summaries = results.map((r) => summarize(r.timings));
  const perRound = summaries.map((x) => x.perSecond);
  const cpu = (name: string) => results.reduce((n, r) => n + (r.cpu[name] ?? 0), 0);
  const perThousand = (s: number) => (1000 * s) / jobs;
  const masterCpu = masters.map((m) => perThousand(cpu(`:${m.port}`)));
  const mastersCpu = masterCpu.reduce((a, b) => a + b, 0);
  const busiest = masterCpu.indexOf(Math.max(...masterCpu));
  const replicasCpu = perThousand(
    Object.keys(results[0]!.cpu)
      .filter((k) => k.startsWith('replica'))
      .reduce((n, k) => n + cpu(k), 0),
  );
  const nodeMs = (name: string) => (1000 * cpu(name)) / jobs;
  const workersMs = Object.keys(results[0]!.cpu)
    .filter((k) => k.startsWith('worker'))
    .reduce((n, k) => n + nodeMs(k), 0);
  const node = {
    [`api ${sys.label}`]: nodeMs(`api ${sys.label}`),
    workers: workersMs,
    token: nodeMs('token'),
    emulator: nodeMs('emulator'),
    bench: nodeMs('bench'),
  };
  const commands = masters.map((_, i) => results.reduce((n, r) => n + r.commands[i]!, 0) / jobs);
  const commandsPerJob = commands.reduce((a, b) => a + b, 0);
  const bytesPerJob = results.reduce((n, r) => n + r.memory, 0) / jobs;
  const owners = await Promise.all(sys.prefixes.map(async (p) => `${p} → :${await cluster.masterOf(await cluster.slotOf(`${p}:events`))}`));
  const retried = results.reduce((n, r) => n + r.retried, 0);

  console.log(`\n${sys.name}   (${owners.join(', ')})`);
  console.log(
    `  ${median(perRound).toFixed(1)} jobs/s (median; rounds ${perRound.map((x) => x.toFixed(1)).join(', ')})   submit→done p50 ${median(summaries.map((x) => x.p50)).toFixed(0)} ms p99 ${median(summaries.map((x) => x.p99)).toFixed(0)} ms`,
  );
  console.log(
    `  redis-server CPU-s per 1000 jobs: ${masters.map((m, i) => `master :${m.port} ${masterCpu[i]!.toFixed(2)}`).join(' · ')} = ${mastersCpu.toFixed(2)}; busiest :${masters[busiest]!.port} ${((100 * masterCpu[busiest]!) / mastersCpu).toFixed(0)}%   replicas together ${replicasCpu.toFixed(2)}`,
  );
  console.log(
    `  Node CPU-ms per job: ${Object.entries(node)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(' · ')}`,
  );
  console.log(
    `  Redis commands per job over the masters: ${commandsPerJob.toFixed(1)} (${masters.map((m, i) => `:${m.port} ${commands[i]!.toFixed(1)}`).join(' · ')}; rounds ${results.map((r) => (r.commands.reduce((a, b) => a + b, 0) / r.timings.length).toFixed(1)).join(', ')})   idle workers: ${(median(results.map((r) => r.idlePerWindow)) * 2).toFixed(1)}/s`,
  );
  console.log(
    `  Redis bytes per finished job (used_memory less replication buffers, over the masters): ${bytesPerJob.toFixed(0)} (rounds ${results.map((r) => (r.memory / r.timings.length).toFixed(0)).join(', ')})   raw used_memory: rounds ${results.map((r) => (r.rawMemory / r.timings.length).toFixed(0)).join(', ')}`,
  );
  if (retried > 0) console.log(`  submissions retried after a 503: ${retried}`);
  return {
    perSecond: median(perRound),
    rounds: perRound,
    busiestCpu: masterCpu[busiest]!,
    busiestShare: masterCpu[busiest]! / mastersCpu,
    busiestCommands: Math.max(...commands),
    busiestUsPerCommand: (1000 * masterCpu[busiest]!) / commands[busiest]!,
    mastersCpu,
    nodeMs: Object.entries(node)
      .filter(([k]) => k !== 'bench')
      .reduce((n, [, v]) => n + v, 0),
    commandsPerJob,
    bytesPerJob,
  };
}

function table(a: Figures, b: Figures): void {
  const rows: Array<[string, (f: Figures) => number, number]> = [
    ['jobs/s (median round)', (f) => f.perSecond, 1],
    ['busiest master CPU-s / 1000 jobs', (f) => f.busiestCpu, 2],
    ["busiest master's share of masters' CPU", (f) => 100 * f.busiestShare, 0],
    ['busiest master commands / job', (f) => f.busiestCommands, 1],
    ['busiest master CPU-µs / command', (f) => f.busiestUsPerCommand, 1],
    ['all masters CPU-s / 1000 jobs', (f) => f.mastersCpu, 2],
    ['Node CPU-ms / job (api, workers, token, emulator)', (f) => f.nodeMs, 2],
    ['Redis commands / job (over masters)', (f) => f.commandsPerJob, 1],
    ['Redis bytes / finished job', (f) => f.bytesPerJob, 0],
  ];
  console.log(`\n${''.padEnd(50)} ${'A: 1 shard'.padStart(12)} ${'B: 3 shards'.padStart(12)} ${'B/A'.padStart(7)}`);
  for (const [label, get, digits] of rows) {
    const suffix = label.includes('share') ? '%' : '';
    console.log(
      `${label.padEnd(50)} ${`${get(a).toFixed(digits)}${suffix}`.padStart(12)} ${`${get(b).toFixed(digits)}${suffix}`.padStart(12)} ${(get(b) / get(a)).toFixed(2).padStart(6)}x`,
    );
  }
}

const cluster = await startRedisCluster();
const cleanup: Array<() => Promise<void>> = [() => cluster.stop()];
try {
  const A = { KEY_PREFIX: '{bench-1}', REDIS_SHARDS: '1' };
  const B = { KEY_PREFIX: '{bench-3}', REDIS_SHARDS: '3' };
  const stack = await startStack({ redisCluster: cluster, workers: 0, apiEnv: { JOB_RATE_LIMIT: '100000000', ...A } });
  cleanup.unshift(() => stack.stop());
  const apiEnvB = { ...environOf(stack.api.proc.pid), PORT: '0', ...B };
  const apiB = await startHttpService('api', apiEnvB);
  cleanup.unshift(async () => void (await apiB.stop()));
  const systems: System[] = [
    { name: 'A: REDIS_SHARDS=1 (one slot, one master)', label: 'A', env: A, prefixes: shardPrefixes(A.KEY_PREFIX, 1), api: stack.api },
    { name: 'B: REDIS_SHARDS=3 (one shard per master)', label: 'B', env: B, prefixes: shardPrefixes(B.KEY_PREFIX, 3), api: apiB },
  ];

  const masterPorts = (await cluster.masters()).sort((a, b) => a - b);
  const masters = masterPorts.map((port) => new Master(port, cluster.pidOf(port)));
  cleanup.unshift(async () => masters.forEach((m) => m.redis.disconnect()));
  const byPort = new Map(masters.map((m) => [m.port, m]));
  const streams = await Promise.all(
    systems
      .flatMap((s) => s.prefixes)
      .map(async (p) => {
        const key = `${p}:events`;
        return { key, master: byPort.get(await cluster.masterOf(await cluster.slotOf(key)))! };
      }),
  );
  const completions = await Completions.open(streams);
  cleanup.unshift(() => completions.close());

  const file = path.join(stack.inbox, 'bench-small.bin');
  await writeRandomFile(file, JOB_SIZE);

  const replicas = cluster.nodes.filter((n) => !masterPorts.includes(n.port));
  const pids: Record<string, number | undefined> = {
    ...Object.fromEntries(masters.map((m) => [`:${m.port}`, m.pid])),
    ...Object.fromEntries(replicas.map((n, i) => [`replica${i + 1}`, cluster.pidOf(n.port)])),
    'api A': stack.api.proc.pid,
    'api B': apiB.proc.pid,
    token: stack.token.proc.pid,
    emulator: stack.emu.proc.pid,
    bench: process.pid,
  };

  // What runs all the time (the two apis, the token service, the cluster itself) sends while no job runs.
  const idle0 = await snapshotAll(masters);
  await sleep(5000);
  const idlePerSecond = commandsAll(idle0, await snapshotAll(masters)) / 5;

  const load0 = loadavg()[0]!;
  const results = systems.map(() => [] as Result[]);
  for (let r = 0; r < rounds; r++) for (const [i, sys] of systems.entries()) results[i]!.push(await measure(stack, masters, completions, sys, file, r, pids));
  const load1 = loadavg()[0]!;

  console.log(
    `\n${total} jobs of ${JOB_SIZE / 1024} KiB a round, ${rounds} round(s) per system alternated, each after ${warmup} warm-up jobs on fresh workers (${WORKERS} × WORKER_CONCURRENCY ${concurrency}, WORKER_SMALL_CONCURRENCY ${concurrency}); ${submitters} concurrent submitters; Redis Cluster of 3 masters + 3 replicas (${/v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1]}), Node ${process.version}, ${cpus().length} cores, load average ${load0.toFixed(2)} → ${load1.toFixed(2)}`,
  );
  console.log(`Redis commands/s over the masters while no job runs and no worker is up (apis, token service, cluster): ${idlePerSecond.toFixed(1)}`);
  const [a, b] = [await report(cluster, masters, systems[0]!, results[0]!), await report(cluster, masters, systems[1]!, results[1]!)];
  table(a!, b!);
  console.log(`jobs/s B/A round by round (B ran right after A): ${a!.rounds.map((x, i) => (b!.rounds[i]! / x).toFixed(2)).join(', ')}`);
} finally {
  for (const close of cleanup) await close();
}
