import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createLogger, createRedis, JobStore, newWebhookSecret, QUEUES } from '@vod-ingest/shared';
import { startTestRedis, type TestRedis } from '@vod-ingest/shared/testing';
import { consumerKey, consumersOf, createEventWorkers, WebhookDispatcher, WebhookEndpointStore, type WebhookJobData } from '../src/events/index.js';
import { Registry } from 'prom-client';

let server: TestRedis;
let redis: Redis;
let prefixes = 0;
const log = createLogger('test', { level: 'fatal' });

before(async () => {
  server = await startTestRedis();
  redis = createRedis(server.url);
});
after(async () => {
  redis?.disconnect();
  await server?.stop();
});

/** The three events of a small job as stream entries, with `cb` when given. */
async function addJobEntries(store: JobStore, id: string, cb?: string): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, type] of ['job.queued', 'job.started', 'job.succeeded'].entries()) {
    const event = JSON.stringify({ id: `evt_${id}_${i + 1}`, type, createdAt: new Date().toISOString(), jobId: id, tenant: 't', data: {} });
    const fields = ['jobId', id, 'seq', String(i + 1), 'type', type, 'event', event, ...(cb === undefined ? [] : ['cb', cb])];
    ids.push(String(await redis.xadd(store.keys.events, '*', ...fields)));
  }
  return ids;
}

async function calls(): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const r = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (r) m.set(r[1], Number(r[2]));
  }
  return m;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function groupDone(store: JobStore): Promise<boolean> {
  const groups = (await redis.xinfo('GROUPS', store.keys.events)) as (string | number)[][];
  const g = groups[0];
  if (!g) return false;
  const [[last]] = (await redis.xrevrange(store.keys.events, '+', '-', 'COUNT', 1)) as [string, string[]][];
  return Number(g[g.indexOf('pending') + 1]) === 0 && g[g.indexOf('last-delivered-id') + 1] === last;
}

function dispatcher(t: TestContext, store: JobStore, o: { webhookUrls?: string[]; consumer?: string; consumerBase?: string; lockMs?: number } = {}) {
  const queue = new Queue<WebhookJobData>(QUEUES.webhooks, { connection: redis, prefix: store.keys.prefix });
  const d = new WebhookDispatcher({
    redis,
    store,
    queue,
    endpoints: new WebhookEndpointStore(redis, store.keys.prefix),
    webhookUrls: o.webhookUrls ?? [],
    retryScheduleMs: [100],
    log,
    consumer: o.consumer,
    consumerBase: o.consumerBase,
    lockMs: o.lockMs ?? 2000,
    blockMs: 500,
    claimIntervalMs: 300,
  });
  d.start();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await d.close();
    await queue.close();
  };
  t.after(close);
  return { d, queue, close };
}

const newStore = () => new JobStore(redis, { prefix: `{wc-test-${++prefixes}}` });

describe('webhook dispatcher: Redis per job', () => {
  test('with no endpoint and entries that say "no callback" (cb 0), it reads nothing per job: no HGET, no SMEMBERS, batched reads and acks', async (t) => {
    const store = newStore();
    const { queue } = dispatcher(t, store);
    await waitFor('the group', async () => (await redis.exists(store.keys.events)) === 1);
    await sleep(300);
    const before = await calls();
    for (let i = 0; i < 100; i++) {
      await addJobEntries(store, `job_cost${i}`, '0');
      if (i % 10 === 9) await sleep(20);
    }
    await waitFor('every entry read and acknowledged', () => groupDone(store));
    const after = await calls();
    const d = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    assert.equal(d('hget'), 0, 'no record read');
    assert.equal(d('hgetall'), 0);
    assert.equal(d('smembers'), 0, 'no disabled-set read when nothing is delivered');
    assert.ok(d('xreadgroup') < 30, `reads are batched (${d('xreadgroup')} for 300 entries)`);
    assert.ok(d('xack') < 30, `acks are batched (${d('xack')} for 300 entries)`);
    assert.equal(await queue.count(), 0, 'nothing queued');
  });

  test('an entry without `cb` (an older writer) has its record read for the callbackUrl; `cb 1` too; `cb 0` never', async (t) => {
    const store = newStore();
    const { queue } = dispatcher(t, store);
    const hook = 'https://hooks.example.com/x';
    for (const [id, cb] of [
      ['job_legacy', undefined],
      ['job_withcb', '1'],
      ['job_nocb', '0'],
    ] as const) {
      await redis.hset(store.keys.job(id), 'id', id, 'request', JSON.stringify({ callbackUrl: hook }));
      await addJobEntries(store, id, cb);
    }
    await waitFor('every entry acknowledged', () => groupDone(store));
    const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'prioritized']);
    const subjects = [...new Set(jobs.map((j) => j.data.event.jobId))].sort();
    assert.deepEqual(subjects, ['job_legacy', 'job_withcb']);
    assert.ok(jobs.every((j) => j.data.url === hook));
  });
});

describe('webhook dispatcher: consumer names and dead consumers', () => {
  test('names are <base>-<slot>: two live dispatchers hold -0 and -1; after a clean stop the name is given back and removed', async (t) => {
    const store = newStore();
    const a = dispatcher(t, store, { consumerBase: 'host' });
    await waitFor('a lease', () => a.d.consumer !== '');
    const b = dispatcher(t, store, { consumerBase: 'host' });
    await waitFor('b lease', () => b.d.consumer !== '');
    assert.deepEqual([a.d.consumer, b.d.consumer].sort(), ['host-0', 'host-1']);
    await waitFor('both consumers in the group', async () => (await consumersOf(redis, store.keys.events, 'webhooks')).length === 2);
    const aName = a.d.consumer;
    await a.close();
    assert.equal(await redis.exists(consumerKey(store.keys.prefix, aName)), 0, 'the lease is given back');
    assert.deepEqual(
      (await consumersOf(redis, store.keys.events, 'webhooks')).map((c) => c.name),
      [b.d.consumer],
      'a cleanly stopped consumer leaves the group at once',
    );
    const c = dispatcher(t, store, { consumerBase: 'host' });
    await waitFor('c lease', () => c.d.consumer !== '');
    assert.equal(c.d.consumer, aName, 'a restart takes the free slot back');
  });

  test('a dead consumer’s pending entries are claimed and dispatched after the lock, then the consumer is removed', async (t) => {
    const received: string[] = [];
    const http = createServer((req, res) => {
      received.push(String(req.headers['webhook-id']));
      req.resume().on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    t.after(() => new Promise<void>((r) => http.close(() => r())));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/hooks`;
    const store = newStore();
    const workers = createEventWorkers({
      connection: redis,
      store,
      prefix: store.keys.prefix,
      webhookUrls: [url],
      webhookSecret: newWebhookSecret(),
      allowlist: ['127.0.0.1'],
      registry: new Registry(),
      log,
      lockMs: 2000,
      consumerBase: 'live',
      dispatcher: { blockMs: 500 },
    });
    t.after(() => workers.close());
    await waitFor('the group', async () => (await redis.exists(store.keys.events)) === 1);
    await sleep(200);
    // A process that read three entries and died before dispatching them: its consumer, no lease.
    // Written while the live dispatcher is held off by reading them at once as the dead consumer.
    await redis.xgroup('CREATECONSUMER', store.keys.events, 'webhooks', 'gone-7');
    const ids = await redis
      .multi()
      .xadd(store.keys.events, '*', ...entryFields('job_dead', 1))
      .xadd(store.keys.events, '*', ...entryFields('job_dead', 2))
      .xadd(store.keys.events, '*', ...entryFields('job_dead', 3))
      .xreadgroup('GROUP', 'webhooks', 'gone-7', 'COUNT', 10, 'STREAMS', store.keys.events, '>')
      .exec();
    const read = (ids![3][1] as [string, [string, string[]][]][])[0][1];
    assert.equal(read.length, 3, 'the dead consumer holds the three entries');
    const killedAt = Date.now();
    await waitFor('the three events delivered', () => ['evt_job_dead_1', 'evt_job_dead_2', 'evt_job_dead_3'].every((e) => received.includes(e)), 15_000);
    const took = Date.now() - killedAt;
    assert.ok(took >= 1500, `not claimed before the lock (${took} ms)`);
    assert.ok(took < 2000 + 5000, `claimed within the lock plus a few seconds (${took} ms)`);
    await waitFor('the dead consumer removed', async () => !(await consumersOf(redis, store.keys.events, 'webhooks')).some((c) => c.name === 'gone-7'));
    const names = (await consumersOf(redis, store.keys.events, 'webhooks')).map((c) => c.name);
    assert.deepEqual(names, ['live-0']);
  });
});

function entryFields(id: string, seq: number): string[] {
  const type = ['job.queued', 'job.started', 'job.succeeded'][seq - 1];
  const event = JSON.stringify({ id: `evt_${id}_${seq}`, type, createdAt: new Date().toISOString(), jobId: id, tenant: 't', data: {} });
  return ['jobId', id, 'seq', String(seq), 'type', type, 'event', event, 'cb', '0'];
}
