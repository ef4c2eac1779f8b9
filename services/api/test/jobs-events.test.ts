import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { JobStore, QUEUES, shardOfJobId, shardPrefixes } from '@vod-ingest/shared';
import { startTestRedis, type TestRedis, type TestService } from '@vod-ingest/shared/testing';
import { KEYS, startApi, startStack, type Stack } from './helpers.js';
import { call, ingestFixture, inspect, openSse, type IngestFixture, type View } from './jobs.helpers.js';

const PREFIX = '{vit-sse}';
const progress = (n: number) => ({ bytesUploaded: n, bytesTotal: 100, partsUploaded: 0, partsTotal: 1 });
const result = { bucket: 'b', key: 'k', size: 100, etag: 'e', crc64: '1' };

let stack: Stack;
let fx: IngestFixture;
let api: TestService;
let capped: TestService;
let ins: ReturnType<typeof inspect>;

const newJob = async (svc: TestService = api, key: string = KEYS.acme) => {
  const res = await call<View>(svc, 'POST', '/v1/jobs', { key, body: { source: { type: 'file', path: fx.clip }, target: { type: 'vod', title: 'SSE' } } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.id;
};
const sseConnections = async (redis: ReturnType<typeof inspect>['redis']) =>
  String(await redis.client('LIST'))
    .split('\n')
    .filter((l) => l.includes('name=api-sse')).length;

before(async () => {
  stack = await startStack();
  fx = ingestFixture();
  const base = { redisUrl: stack.redis.url, emu: stack.emu, tokenUrl: stack.token.url, tokenSecret: stack.token.secret };
  const env = { INGEST_ROOTS: fx.root, KEY_PREFIX: PREFIX };
  [api, capped] = await Promise.all([startApi(base, env), startApi(base, { ...env, SSE_MAX_PER_TENANT: '1' })]);
  ins = inspect(stack.redis.url, PREFIX);
});
after(async () => {
  await Promise.all([api?.stop(), capped?.stop()]);
  await ins?.close();
  fx?.remove();
  await stack?.stop();
});

describe('GET /v1/jobs/:id/events', () => {
  test('history, then live events written meanwhile, each once and in order; ends after the terminal event', async () => {
    const id = await newJob();
    const sse = await openSse(api, id, KEYS.acme);
    assert.equal(sse.status, 200);
    assert.match(sse.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(sse.headers.get('cache-control'), 'no-store');
    assert.equal(sse.headers.get('x-accel-buffering'), 'no');
    await sse.waitFor(1);
    await ins.store.start(id, 1);
    for (let i = 1; i <= 20; i++) await ins.store.progress(id, progress(i), true);
    await ins.store.succeed(id, result, progress(100));
    await sse.ended;
    assert.deepEqual(
      sse.messages.map((m) => m.id),
      Array.from({ length: 23 }, (_, i) => String(i + 1)),
    );
    assert.deepEqual(
      sse.messages.map((m) => m.event).filter((t) => t !== 'job.progress'),
      ['job.queued', 'job.started', 'job.succeeded'],
    );
    const last = JSON.parse(sse.messages[22].data!);
    assert.equal(last.id, `evt_${id}_23`);
    assert.equal(last.jobId, id);
    assert.equal(last.tenant, 'acme');
    assert.deepEqual(last.data.result, result);
  });

  test('events written while the stream opens are neither lost nor doubled', async () => {
    const id = await newJob();
    await ins.store.start(id, 1);
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing && i < 2000; i++) await ins.store.progress(id, progress(i), true);
    })();
    await new Promise((r) => setTimeout(r, 20));
    const sse = await openSse(api, id, KEYS.acme);
    await sse.waitFor(10);
    writing = false;
    await writer;
    await ins.store.fail(id, { code: 'X', message: 'stop', retryable: false });
    await sse.ended;
    const seqs = sse.messages.map((m) => Number(m.id));
    assert.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, i) => i + 1),
      'consecutive from 1',
    );
    assert.equal(sse.messages.at(-1)?.event, 'job.failed');
    assert.equal(seqs.length, (await ins.store.events(id)).length);
  });

  test('a finished job: replay and end; Last-Event-ID resumes after that seq; past the end, nothing', async () => {
    const id = await newJob();
    await ins.store.start(id, 1);
    await ins.store.progress(id, progress(50), true);
    await ins.store.succeed(id, result, progress(100));
    const all = await openSse(api, id, KEYS.acme);
    await all.ended;
    assert.deepEqual(
      all.messages.map((m) => `${m.id}:${m.event}`),
      ['1:job.queued', '2:job.started', '3:job.progress', '4:job.succeeded'],
    );
    const resumed = await openSse(api, id, KEYS.acme, { lastEventId: '2' });
    await resumed.ended;
    assert.deepEqual(
      resumed.messages.map((m) => m.id),
      ['3', '4'],
    );
    const past = await openSse(api, id, KEYS.acme, { lastEventId: '4' });
    await past.ended;
    assert.deepEqual(past.messages, []);
    const bad = await call(api, 'GET', `/v1/jobs/${id}/events`, { key: KEYS.acme, headers: { 'last-event-id': 'abc' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error?.code, 'LAST_EVENT_ID_INVALID');
  });

  test('Last-Event-ID on a live job: the missed events, then live ones', async () => {
    const id = await newJob();
    await ins.store.start(id, 1);
    const sse = await openSse(api, id, KEYS.acme, { lastEventId: '1' });
    await sse.waitFor(1);
    await ins.store.canceled(id);
    await sse.ended;
    assert.deepEqual(
      sse.messages.map((m) => `${m.id}:${m.event}`),
      ['2:job.started', '3:job.canceled'],
    );
  });

  test('one reader connection per process, gone when the last stream closes', async () => {
    const ids = [await newJob(), await newJob(), await newJob()];
    const streams = await Promise.all(ids.map((id) => openSse(api, id, KEYS.acme)));
    await Promise.all(streams.map((s) => s.waitFor(1)));
    assert.equal(await sseConnections(ins.redis), 1);
    streams.forEach((s) => s.close());
    const deadline = Date.now() + 5000;
    while ((await sseConnections(ins.redis)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await sseConnections(ins.redis), 0);
  });

  test('per-tenant cap: 429 TOO_MANY_STREAMS, other tenants unaffected, freed on close', async () => {
    const id = await newJob(capped);
    const first = await openSse(capped, id, KEYS.acme);
    await first.waitFor(1);
    const second = await call(capped, 'GET', `/v1/jobs/${id}/events`, { key: KEYS.acme });
    assert.equal(second.status, 429);
    assert.equal(second.body.error?.code, 'TOO_MANY_STREAMS');
    const globexJob = await newJob(capped, KEYS.globex);
    const other = await openSse(capped, globexJob, KEYS.globex);
    assert.equal(other.status, 200);
    other.close();
    first.close();
    await new Promise((r) => setTimeout(r, 200));
    const third = await openSse(capped, id, KEYS.acme);
    assert.equal(third.status, 200);
    third.close();
  });
});

describe('a Redis restart', () => {
  let redis: TestRedis;
  let solo: TestService;
  before(async () => {
    redis = await startTestRedis({ appendOnly: true });
    solo = await startApi(
      { redisUrl: redis.url, emu: stack.emu, tokenUrl: stack.token.url, tokenSecret: stack.token.secret },
      { INGEST_ROOTS: fx.root, KEY_PREFIX: PREFIX },
    );
  });
  after(async () => {
    await solo?.stop();
    await redis?.stop();
  });

  test('an open stream goes on with the events written after it', async () => {
    const id = await newJob(solo);
    const sse = await openSse(solo, id, KEYS.acme, { timeoutMs: 30_000 });
    await sse.waitFor(1);
    await new Promise((r) => setTimeout(r, 1100)); // let AOF (everysec) take the job
    await redis.restart();
    const after = inspect(redis.url, PREFIX);
    try {
      await after.store.start(id, 1);
      await after.store.succeed(id, result, progress(100));
    } finally {
      await after.close();
    }
    await sse.ended;
    assert.deepEqual(
      sse.messages.map((m) => `${m.id}:${m.event}`),
      ['1:job.queued', '2:job.started', '3:job.succeeded'],
    );
  });
});

describe('REDIS_SHARDS=3', () => {
  const SHARDED = '{vit-sse3}';
  let sharded: TestService;
  let redis: Redis;
  let store: JobStore;
  before(async () => {
    sharded = await startApi(
      { redisUrl: stack.redis.url, emu: stack.emu, tokenUrl: stack.token.url, tokenSecret: stack.token.secret },
      { INGEST_ROOTS: fx.root, KEY_PREFIX: SHARDED, REDIS_SHARDS: '3' },
    );
    redis = new Redis(stack.redis.url);
    store = new JobStore(redis, { prefix: SHARDED, shards: 3 });
  });
  after(async () => {
    await sharded?.stop();
    redis?.disconnect();
  });

  test("jobs take the shards in turn, each queued on its shard's lane; one list holds them all; each job's SSE stream follows its shard's events", async () => {
    const ids = [await newJob(sharded), await newJob(sharded), await newJob(sharded)];
    const prefixes = shardPrefixes(SHARDED, 3);
    assert.deepEqual(ids.map((id) => shardOfJobId(id, 3)).sort(), [0, 1, 2]);
    for (const id of ids) {
      const prefix = prefixes[shardOfJobId(id, 3)];
      assert.equal(await redis.exists(`${prefix}:job:${id}`), 1, `${id}: record in ${prefix}`);
      assert.equal(await redis.exists(`${prefix}:${QUEUES.ingest}:${id}`), 1, `${id}: queued in ${prefix}`);
    }
    const list = await call<{ jobs: View[] }>(sharded, 'GET', '/v1/jobs?limit=10', { key: KEYS.acme });
    assert.deepEqual(
      list.body.jobs.map((j) => j.id),
      [...ids].reverse(),
    );
    const streams = await Promise.all(ids.map((id) => openSse(sharded, id, KEYS.acme)));
    await Promise.all(streams.map((s) => s.waitFor(1)));
    for (const id of ids) {
      await store.start(id, 1);
      await store.succeed(id, result, progress(100));
    }
    await Promise.all(streams.map((s) => s.ended));
    for (const s of streams) {
      assert.deepEqual(
        s.messages.map((m) => `${m.id}:${m.event}`),
        ['1:job.queued', '2:job.started', '3:job.succeeded'],
      );
    }
    const job = await call<View>(sharded, 'GET', `/v1/jobs/${ids[2]}`, { key: KEYS.acme });
    assert.equal(job.body.status, 'succeeded');
  });
});
