import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { isTerminalEvent, KEY_PREFIX, shardOfJobId, shardPrefixes, type JobEvent, type JobView } from '@vod-ingest/shared';
import { REPO_ROOT } from '@vod-ingest/shared/testing';
import { startStack, until, writeRandomFile, type Stack } from '../e2e/stack.js';
import { startReceiver, type Receiver } from '../e2e/webhook-receiver.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';

// The whole stack (token service, api, two workers) against a 3-master Redis Cluster with a
// replica each: every service gets REDIS_CLUSTER_NODES, and the api and workers REDIS_SHARDS=3:
// the ingest queues, job records and events of a shard share its slot, one shard per master.
const SHARDS = 3;
const KiB = 1024;
let cluster: TestRedisCluster;
let stack: Stack;
let hooks: Receiver;
let file: string;
before(async () => {
  const t0 = Date.now();
  cluster = await startRedisCluster();
  const t1 = Date.now();
  stack = await startStack({ redisCluster: cluster, workers: 0, shards: SHARDS });
  console.log(`cluster up in ${t1 - t0} ms, stack in ${Date.now() - t1} ms`);
  hooks = await startReceiver(stack.webhookSecret);
  const env = { WEBHOOK_URLS: hooks.url, WEBHOOK_RETRY_SCHEDULE_MS: '200,400,800,1600', WORKER_CONCURRENCY: '4' };
  await Promise.all([stack.startWorker(env), stack.startWorker(env)]);
  file = path.join(stack.inbox, 'small.mp4');
  await writeRandomFile(file, 200 * KiB);
});
after(async () => {
  await stack?.stop();
  await hooks?.close();
  await cluster?.stop();
});

/** Submits `n` oss jobs of the small file, 20 at a time; returns their ids. */
async function submitBatch(batch: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 20) {
    const replies = await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, (_, k) =>
        stack.submit({ source: { type: 'file', path: file }, target: { type: 'oss', bucket: stack.emu.bucket, key: `${batch}/${i + k}.mp4` } }),
      ),
    );
    for (const r of replies) {
      assert.equal(r.status, 202, JSON.stringify(r.body));
      ids.push(r.body.id);
    }
  }
  return ids;
}

/** Every job succeeded once: one job.succeeded on the stream, every event of it delivered once by webhook. */
async function assertEachSucceededOnce(ids: string[], maxAttempts: number): Promise<JobView[]> {
  const jobs = await Promise.all(ids.map((id) => stack.waitFor(id, { timeoutMs: 120_000 })));
  for (const j of jobs) {
    assert.equal(j.status, 'succeeded', `${j.id}: ${JSON.stringify(j.error)}`);
    assert.ok(j.attempts >= 1 && j.attempts <= maxAttempts, `${j.id}: ${j.attempts} attempts`);
  }
  const mine = new Set(ids);
  const stream = (await stack.streamEvents()).filter((e) => mine.has(jobOf(e)));
  const succeeded = countBy(stream.filter((e) => e.type === 'job.succeeded').map(jobOf));
  assert.deepEqual(
    ids.filter((id) => succeeded.get(id) !== 1),
    [],
    'jobs without exactly one job.succeeded',
  );
  assert.equal(stream.filter((e) => e.type === 'job.failed').length, 0);
  // Webhooks: every event of these jobs on the stream arrives, once (a redelivery has the same id).
  // (A timeout here is reported below, naming the events missing.)
  await until(() => ids.every((id) => hooks.events.some((e) => e.jobId === id && isTerminalEvent(e))), 60_000).catch(() => {});
  await until(() => delivered(mine).size >= stream.length, 30_000).catch(() => {});
  const byId = countBy(hooks.events.filter((e) => mine.has(jobOf(e))).map((e) => e.id));
  assert.deepEqual(
    stream.filter((e) => byId.get(e.id) !== 1).map((e) => `${e.type} ${e.id} ×${byId.get(e.id) ?? 0}`),
    [],
    'stream events not delivered exactly once',
  );
  assert.equal(hooks.rejected, 0);
  return jobs;
}

/** The job an event is about ('' for an upload's events). */
const jobOf = (e: JobEvent) => e.jobId ?? '';
const delivered = (jobs: Set<string>) => new Set(hooks.events.filter((e) => jobs.has(jobOf(e))).map((e) => e.id));

function countBy(keys: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

const services = () => [
  { name: 'api', url: stack.api.url },
  { name: 'token', url: stack.token.url },
  ...stack.workers.map((w, i) => ({ name: `worker-${i + 1}`, url: w.url })),
];

async function readyz(url: string): Promise<number> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) })).status;
  } catch {
    return 0;
  }
}

test('REDIS_URL pointed at a cluster node: the service does not start, and says to set REDIS_CLUSTER_NODES', () => {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'services/api/dist/main.js')], {
    env: { PATH: process.env.PATH, REDIS_URL: cluster.url, API_KEYS: 'acme:acme-key-0123456789', TOKEN_SERVICE_SECRET: 'service-secret-0123456789', PORT: '0' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^api: Redis at redis:\/\/127\.0\.0\.1:\d+\/? is a Redis Cluster node: set REDIS_CLUSTER_NODES/m);
});

test('200 jobs on a 3-master cluster with 3 shards: each succeeds once, on the first attempt; events and webhooks complete; every master holds keys; every /readyz is 200', async () => {
  for (const s of services()) assert.equal(await readyz(s.url), 200, s.name);
  const started = Date.now();
  const ids = await submitBatch('batch-1', 200);
  await assertEachSucceededOnce(ids, 1);
  console.log(`200 jobs on the cluster in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // Each shard is one slot, each on another master, and each carries its share of the jobs.
  const prefixes = shardPrefixes(KEY_PREFIX, SHARDS);
  const slots = await Promise.all(prefixes.map((p) => cluster.slotOf(`${p}:events`)));
  const owners = await Promise.all(slots.map((slot) => cluster.masterOf(slot)));
  assert.deepEqual([...owners].sort(), [...(await cluster.masters())].sort(), 'one shard on every master');
  const keys = await Promise.all(slots.map((slot, i) => cluster.countKeysInSlot(owners[i], slot)));
  console.log(`  shards ${prefixes.join(' ')}: slots ${slots.join(' ')} on masters :${owners.join(' :')}, CLUSTER COUNTKEYSINSLOT ${keys.join(' ')}`);
  const jobsPerShard = prefixes.map((_, n) => ids.filter((id) => shardOfJobId(id, SHARDS) === n).length);
  assert.ok(
    jobsPerShard.every((n) => n >= 50),
    `jobs per shard ${jobsPerShard}`,
  );
  for (let i = 0; i < SHARDS; i++)
    assert.ok(keys[i] >= jobsPerShard[i], `shard ${prefixes[i]} on :${owners[i]} holds ${keys[i]} keys for ${jobsPerShard[i]} jobs`);
});

test('kill -9 of the master serving shard 0 (the {vod-ingest} slot) mid-batch: a replica takes over, /readyz is 503 then 200, every job succeeds once, no service restarted', async () => {
  const slot = await cluster.slotOf('{vod-ingest}');
  const master = await cluster.masterOf(slot);
  const processes = () => [stack.api, stack.token, ...stack.workers].map((s) => s.proc);
  const pids = processes().map((p) => p.pid);
  const ids = await submitBatch('batch-2', 100);
  // Mid-batch: some jobs done, most not.
  let done = 0;
  for (const end = Date.now() + 60_000; done < 10 && Date.now() < end; await sleep(100)) {
    done = (await Promise.all(ids.slice(0, 30).map((id) => stack.job(id).catch(() => undefined)))).filter((j) => j?.status === 'succeeded').length;
  }
  assert.ok(done >= 10, 'the batch did not start');

  // Watch every /readyz from the kill until the slot is served again and all answer 200.
  const seen = new Map<string, number[]>(services().map((s) => [s.name, []]));
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      await Promise.all(services().map(async (s) => seen.get(s.name)!.push(await readyz(s.url))));
      await sleep(100);
    }
  })();
  const killedAt = Date.now();
  await cluster.kill(master);
  const promoted = await cluster.waitForFailover(slot, master);
  const failoverMs = Date.now() - killedAt;
  await until(() => [...seen.values()].every((codes) => codes.at(-1) === 200), 60_000);
  const recoveredMs = Date.now() - killedAt;
  watching = false;
  await watcher;
  console.log(`master :${master} killed; replica :${promoted} serves slot ${slot} after ${failoverMs} ms; every /readyz 200 after ${recoveredMs} ms`);
  for (const [name, codes] of seen) {
    console.log(`  ${name} /readyz: ${squeeze(codes)}`);
    assert.ok(codes.includes(503), `${name} never answered 503 while the slot was down: ${squeeze(codes)}`);
    assert.equal(codes.at(-1), 200, name);
  }

  // A job retried because a Redis call failed during the failover is allowed a second attempt; not a second success.
  const jobs = await assertEachSucceededOnce(ids, 2).finally(() => {
    for (const p of processes()) console.log(`  pid ${p.pid} warnings and errors: ${warnings(p.output())}`);
  });
  console.log(`  attempts: ${JSON.stringify(Object.fromEntries(countBy(jobs.map((j) => String(j.attempts)))))}`);
  // Errors during the outage are logged at a bounded rate (one line, then one per 30 s per connection), not per retry.
  for (const p of processes()) {
    const lines = p
      .output()
      .split('\n')
      .filter((l) => l.includes('"RedisError"')).length;
    assert.ok(lines <= 10, `${lines} RedisError lines from pid ${p.pid}`);
  }
  // No service restarted: the processes started before the kill are the ones still running.
  assert.deepEqual(
    processes().map((p) => p.pid),
    pids,
  );
  for (const p of processes()) assert.equal(p.child.exitCode, null);
  // And it keeps working: a fresh job after the failover.
  await assertEachSucceededOnce(await submitBatch('batch-3', 5), 1);
});

/** `RedisError×1 WorkerError×3`: the log lines at warn and above, counted by message. */
function warnings(output: string): string {
  const msgs = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string })
    .filter((l) => ['warn', 'error', 'fatal'].includes(l.level))
    .map((l) => l.msg);
  return [...countBy(msgs)].map(([msg, n]) => `${msg}×${n}`).join(' ') || 'none';
}

/** `200×3 503×12 200×5`: runs of equal codes. */
function squeeze(codes: number[]): string {
  const runs: string[] = [];
  for (let i = 0; i < codes.length; ) {
    let j = i;
    while (j < codes.length && codes[j] === codes[i]) j++;
    runs.push(`${codes[i]}×${j - i}`);
    i = j;
  }
  return runs.join(' ');
}
