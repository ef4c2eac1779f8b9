import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis, type RedisTarget } from '@vod-ingest/shared';
import { until } from '../e2e/stack.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';

// Our Redis client against a master failover, below the services: what a reconnect and a BullMQ
// worker's blocking read do while a slot has no master. (stack.cluster.test.ts runs the services
// through one.) Each test kills another master.
let cluster: TestRedisCluster;
let target: RedisTarget;
before(async () => {
  cluster = await startRedisCluster();
  target = { url: cluster.url, clusterNodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) };
});
after(async () => {
  await cluster?.stop();
});

/** A hash tag whose slot a master other than `not` serves, and that master. */
async function tagServedByAnother(not: number[]): Promise<{ tag: string; slot: number; master: number }> {
  for (let i = 0; ; i++) {
    const tag = `{failover-${i}}`;
    const slot = await cluster.slotOf(tag);
    const master = await cluster.masterOf(slot);
    if (!not.includes(master)) return { tag, slot, master };
  }
}

/** The masters killed so far, with the slot each served. */
const killed: { slot: number; master: number }[] = [];

test('a client that reconnects while a slot has no master is ready once the slot is served again, and its writes are there', async () => {
  const { tag, slot, master } = await tagServedByAnother([]);
  const redis = createRedis(target, { name: 'failover-test' });
  try {
    await redis.set(`${tag}:k`, 'v');
    await cluster.kill(master);
    killed.push({ slot, master });
    // The moment ioredis's cluster-level ready check (CLUSTER INFO) fails: the slot is uncovered.
    await cluster.waitForClusterFail();
    // What BullMQ's worker does when its blocking read outlives its watchdog: disconnect, connect, await.
    redis.disconnect();
    const connected = redis.connect().then(
      () => 'ready',
      (err: Error) => `rejected: ${err.message}`,
    );
    const outcome = await Promise.race([connected, sleep(20_000, 'unsettled after 20 s')]);
    assert.equal(outcome, 'ready');
    await cluster.waitForFailover(slot, master);
    assert.equal(await redis.get(`${tag}:k`), 'v');
  } finally {
    redis.disconnect();
  }
});

test('BullMQ workers on the cluster connection go on after a failover that ends while their blocking reads wait, each job once', async () => {
  // Not the killed masters, nor the replicas that took over from them: they have no replica left.
  const taken = await Promise.all(killed.map((k) => cluster.waitForFailover(k.slot, k.master)));
  const { tag, slot, master } = await tagServedByAnother([...killed.map((k) => k.master), ...taken]);
  // One queue and one worker per delayed job: each worker's blocking read waits for its own job's
  // due time, and BullMQ's watchdog fires a second after it. The due times spread the watchdogs
  // over the failover, so that some fire while the slot has no master.
  const n = 6;
  const processed = new Map<string, number>();
  const conns: Redis[] = [];
  const conn = () => {
    const c = createRedis(target, { name: 'failover-test' });
    conns.push(c);
    return c;
  };
  const queues = Array.from({ length: n }, (_, i) => new Queue(`q${i}`, { connection: conn(), prefix: tag }));
  const workers = Array.from(
    { length: n },
    (_, i) =>
      new Worker(
        `q${i}`,
        async (job) => {
          processed.set(job.id!, (processed.get(job.id!) ?? 0) + 1);
        },
        { connection: conn(), prefix: tag },
      ),
  );
  try {
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    const killAt = Date.now() + 1000;
    await Promise.all(queues.map((q, i) => q.add('due', { i }, { jobId: `job-${i}`, delay: killAt - Date.now() + 1500 + i * 600 })));
    await sleep(killAt - Date.now());
    await cluster.kill(master);
    await cluster.waitForFailover(slot, master);
    await until(() => processed.size >= n, 30_000).catch(() => {}); // reported below
    assert.deepEqual(
      Array.from({ length: n }, (_, i) => processed.get(`job-${i}`) ?? 0),
      Array.from({ length: n }, () => 1),
      'jobs processed (by due time) within 30 s of the failover',
    );
  } finally {
    // A worker stuck in its main loop never finishes closing: give each a few seconds.
    await Promise.all(workers.map((w) => Promise.race([w.close(true).catch(() => {}), sleep(5000)])));
    await Promise.all(queues.map((q) => q.close().catch(() => {})));
    for (const c of conns) c.disconnect();
  }
});
