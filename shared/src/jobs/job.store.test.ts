import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { startTestRedis, type TestRedis } from '../testing/redis.js';
import { eventSeq } from './job.events.js';
import type { JobRequest } from './job.schema.js';
import { JobStore } from './job.store.js';
import { shardOfJobId, shardPrefixes } from './shards.js';

let server: TestRedis;
let redis: Redis;
let store: JobStore;
before(async () => {
  server = await startTestRedis();
  redis = new Redis(server.url);
  store = new JobStore(redis, { prefix: '{store-test}' });
});
after(async () => {
  redis?.disconnect();
  await server?.stop();
});

const request = (n = 1): JobRequest => ({ source: { type: 'file', path: `/inbox/${n}.mp4` }, target: { type: 'oss', bucket: 'b-1', key: `k/${n}` } });
const progress = { bytesUploaded: 10, bytesTotal: 10, partsUploaded: 1, partsTotal: 1 };
const result = { bucket: 'b-1', key: 'k/1', size: 10, etag: '"E"', crc64: '1' };

test("a job's events are numbered 1, 2, 3... and a terminal event is written once however many race for it", async () => {
  const { job } = (await store.create('acme', request())) as { job: { id: string } };
  assert.ok(await store.start(job.id, 1));
  await store.progress(job.id, { ...progress, bytesUploaded: 5 }, true);
  const racers = await Promise.all([
    store.succeed(job.id, result, progress),
    store.succeed(job.id, result, progress),
    store.fail(job.id, { code: 'X', message: 'x', retryable: false }),
    store.canceled(job.id),
  ]);
  assert.equal(racers.filter(Boolean).length, 1);
  const events = await store.events(job.id);
  assert.deepEqual(
    events.map((e) => e.type),
    ['job.queued', 'job.started', 'job.progress', 'job.succeeded'],
  );
  assert.deepEqual(events.map(eventSeq), [1, 2, 3, 4]);
  assert.deepEqual((await store.events(job.id, 2)).map(eventSeq), [3, 4]);
  const global = await redis.xrange(store.keys.events, '-', '+');
  assert.equal(global.length, 4);
  assert.ok((await redis.ttl(store.keys.job(job.id))) > 0, 'a finished job expires');
});

test('Idempotency-Key: the same body answers the same job, another body says so; tenants are apart', async () => {
  const a = await store.create('acme', request(2), { idempotencyKey: 'k-1' });
  const b = await store.create('acme', request(2), { idempotencyKey: 'k-1' });
  const c = await store.create('acme', request(3), { idempotencyKey: 'k-1' });
  const d = await store.create('globex', request(2), { idempotencyKey: 'k-1' });
  assert.equal(a.created, true);
  assert.deepEqual([b.created, b.created === false && b.sameBody, b.job.id], [false, true, a.job.id]);
  assert.deepEqual([c.created, c.created === false && c.sameBody], [false, false]);
  assert.equal(d.created, true);
  assert.notEqual(d.job.id, a.job.id);
  assert.equal(await store.getForTenant('globex', a.job.id), undefined);
});

test('cancel: queued → canceled at once; running → flagged; finished → left alone', async () => {
  const queued = (await store.create('acme', request(4))).job.id;
  assert.equal((await store.cancel(queued)).state, 'canceled');
  assert.equal(await store.start(queued, 1), null, 'a canceled job never starts');

  const running = (await store.create('acme', request(5))).job.id;
  await store.start(running, 1);
  const asked = await store.cancel(running);
  assert.equal(asked.state, 'requested');
  assert.equal(asked.job.cancelRequested, true);
  assert.equal(await store.isCancelRequested(running), true);
  assert.ok(await store.canceled(running));
  assert.equal((await store.cancel(running)).state, 'finished');

  // Queued, but a worker holds it (its BullMQ lock, on either lane): flagged, not canceled under it.
  for (const lane of ['ingest', 'ingest-small']) {
    const taken = (await store.create('acme', request(6))).job.id;
    await redis.set(`${store.keys.prefix}:${lane}:${taken}:lock`, 'worker-token', 'PX', 30_000);
    const held = await store.cancel(taken);
    assert.equal(held.state, 'requested', lane);
    assert.equal(held.job.status, 'queued');
    assert.equal(await store.isCancelRequested(taken), true);
    assert.deepEqual(
      (await store.events(taken)).map((e) => e.type),
      ['job.queued'],
      'no job.canceled while the worker holds it',
    );
  }
});

test('a start written with the end: queued → job.started and job.succeeded in one step, in order, numbered on', async () => {
  const { id } = (await store.create('acme', request(7))).job;
  const at = new Date(Date.now() - 50);
  const before = (await redis.xrevrange(store.keys.events, '+', '-', 'COUNT', 1))[0]![0];
  assert.ok(await store.succeed(id, result, progress, new Date(), { attempt: 1, at }));
  const events = await store.events(id);
  assert.deepEqual(
    events.map((e) => e.type),
    ['job.queued', 'job.started', 'job.succeeded'],
  );
  assert.deepEqual(events.map(eventSeq), [1, 2, 3]);
  assert.equal(events[1]!.createdAt, at.toISOString(), 'job.started says when the attempt began');
  assert.deepEqual(events[1]!.data, { attempt: 1, status: 'running' });
  const job = (await store.get(id))!;
  assert.deepEqual([job.status, job.attempts, job.startedAt], ['succeeded', 1, at.toISOString()]);
  const global = await redis.xrange(store.keys.events, `(${before}`, '+');
  assert.deepEqual(
    global.map(([, f]) => f[f.indexOf('type') + 1]),
    ['job.started', 'job.succeeded'],
  );
  // Once running (the start written on its own), the same call writes only the end.
  const other = (await store.create('acme', request(8))).job.id;
  await store.start(other, 1);
  assert.ok(await store.succeed(other, result, progress, new Date(), { attempt: 1, at }));
  assert.deepEqual((await store.events(other)).map(eventSeq), [1, 2, 3]);
  // A canceled job is not started by it.
  const gone = (await store.create('acme', request(9))).job.id;
  await store.cancel(gone);
  assert.equal(await store.succeed(gone, result, progress, new Date(), { attempt: 1, at }), null);
});

test('list: newest first, cursor pages, status filter', async () => {
  const s = new JobStore(redis, { prefix: '{store-list}' });
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push((await s.create('t', request(i), { now: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) })).job.id);
  await s.start(ids[1], 1);
  const p1 = await s.list('t', { limit: 3 });
  assert.deepEqual(
    p1.jobs.map((j) => j.id),
    [ids[6], ids[5], ids[4]],
  );
  const p2 = await s.list('t', { limit: 3, cursor: p1.nextCursor });
  assert.deepEqual(
    p2.jobs.map((j) => j.id),
    [ids[3], ids[2], ids[1]],
  );
  const p3 = await s.list('t', { limit: 3, cursor: p2.nextCursor });
  assert.deepEqual(
    p3.jobs.map((j) => j.id),
    [ids[0]],
  );
  assert.equal(p3.nextCursor, undefined);
  assert.deepEqual(
    (await s.list('t', { limit: 10, status: 'running' })).jobs.map((j) => j.id),
    [ids[1]],
  );
});

test('retention: a finished job and its events expire after retentionSeconds; the tenant index drops ids older than the retention; a finished small job record stays under 4 KiB', async () => {
  const short = new JobStore(redis, { prefix: '{store-ret}', retentionSeconds: 3600, indexTrimEvery: 1 });
  const { job } = (await short.create('ret', request())) as { job: { id: string } };
  const key = short.keys.job(job.id);
  assert.equal(await redis.ttl(key), -1, 'a live job does not expire');
  await short.start(job.id, 1);
  await short.succeed(job.id, result, progress);
  const ttl = await redis.ttl(key);
  assert.ok(ttl > 3500 && ttl <= 3600, `record TTL ${ttl}`);
  assert.deepEqual(
    (await short.events(job.id)).map((e) => e.type),
    ['job.queued', 'job.started', 'job.succeeded'],
    'its events live in the record',
  );
  assert.equal(await redis.exists(`{store-ret}:events:${job.id}`), 0, 'no stream per job');
  // An id from two hours ago in the index: the next create trims it, keeps the recent one.
  const old = `job_${(Date.now() - 7200_000).toString(36).padStart(10, '0')}000aaaaaaaaaaaaaa`;
  await redis.zadd(short.keys.tenantJobs('ret'), 0, old);
  const { job: next } = (await short.create('ret', request(2))) as { job: { id: string } };
  assert.deepEqual(await redis.zrange(short.keys.tenantJobs('ret'), 0, -1), [job.id, next.id]);
  const bytes = Number(await redis.memory('USAGE', key));
  assert.ok(bytes < 4096, `a finished small job's record takes ${bytes} bytes`);
});

test('REDIS_SHARDS 3: jobs spread over the shards by id, a replayed Idempotency-Key finds its job, list pages merge every shard newest first', async () => {
  const s = new JobStore(redis, { prefix: '{store-shards}', shards: 3 });
  assert.deepEqual(
    s.shardKeys.map((k) => k.prefix),
    shardPrefixes('{store-shards}', 3),
  );
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) ids.push((await s.create('t', request(i), { now: new Date(Date.UTC(2026, 0, 1, 0, 0, i)) })).job.id);
  const perShard = [0, 1, 2].map((n) => ids.filter((id) => shardOfJobId(id, 3) === n).length);
  assert.deepEqual(perShard, [4, 4, 4], 'jobs without an Idempotency-Key take the shards in turn');
  for (const id of ids) {
    const keys = s.shardKeys[shardOfJobId(id, 3)];
    assert.equal(await redis.exists(keys.job(id)), 1, `${id} lives in its shard ${keys.prefix}`);
    assert.equal((await s.get(id))?.id, id);
  }
  // Each shard's stream has its own jobs' events.
  for (const keys of s.shardKeys) assert.equal(await redis.xlen(keys.events), 4);
  await s.start(ids[1], 1);
  await s.start(ids[8], 1);
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await s.list('t', { limit: 5, cursor });
    pages.push(page.jobs.map((j) => j.id));
    cursor = page.nextCursor;
  } while (cursor);
  assert.deepEqual(pages.flat(), [...ids].reverse(), 'every job once, newest first, across shards');
  assert.deepEqual(pages[0].length, 5);
  assert.deepEqual(
    (await s.list('t', { limit: 10, status: 'running' })).jobs.map((j) => j.id),
    [ids[8], ids[1]],
  );
  const a = await s.create('t', request(99), { idempotencyKey: 'same' });
  const b = await s.create('t', request(99), { idempotencyKey: 'same' });
  assert.deepEqual([a.created, b.created, b.job.id], [true, false, a.job.id]);
  assert.equal((await s.findIdempotent('t', 'same'))?.job.id, a.job.id);
  // A worker's store of one shard (its prefix) reads that shard's jobs whatever letter their id has.
  const shard2 = new JobStore(redis, { prefix: s.shardKeys[2].prefix });
  const onShard2 = ids.find((id) => shardOfJobId(id, 3) === 2)!;
  assert.equal((await shard2.get(onShard2))?.id, onShard2);
  // A VOD video's job is found in whichever shard placed it.
  await s.placeVod(onShard2, { videoId: 'v2', endpoint: 'e', bucket: 'b', key: 'k' });
  assert.equal(await s.videoSubject('v2'), onShard2);
  assert.equal(await s.videoSubject('nobody'), undefined);
});

test('create with `alongside`: what it sends goes out in the same write as the record, and runs after it; on a new connection, once the record is written', async (t) => {
  const conn = new Redis(server.url);
  t.after(() => conn.disconnect());
  const s = new JobStore(conn, { prefix: '{store-alongside}' });
  // What a command sent from `alongside` sees of the record, whether it is held for one write, and
  // whether `alongside` ran within the call to create (the record's script sent, not yet answered).
  const seen: Array<{ status: string | null; held: boolean; withTheSend: boolean }> = [];
  const create = async () => {
    let calling = true;
    let seeing: Promise<void> | undefined;
    const created = s.create('acme', request(), {
      alongside: (id) => {
        const held = conn.stream.writableCorked > 0;
        const withTheSend = calling;
        seeing = conn.hget(s.keysOf(id).job(id), 'status').then((status) => void seen.push({ status, held, withTheSend }));
      },
    });
    calling = false;
    const outcome = await created;
    await seeing;
    assert.ok(outcome.created);
    assert.equal(conn.stream.writableCorked, 0, 'the socket is let go');
  };
  // A new connection: Redis may not have the script cached for it, so the record is written first.
  await create();
  // From then on the record's script and the caller's command leave together, the record first.
  await create();
  await create();
  assert.deepEqual(seen, [
    { status: 'queued', held: false, withTheSend: false },
    { status: 'queued', held: true, withTheSend: true },
    { status: 'queued', held: true, withTheSend: true },
  ]);
  // After SCRIPT FLUSH the record's script answers NOSCRIPT and is sent again: the job is still created.
  await redis.script('FLUSH');
  const again = await s.create('acme', request(), { alongside: () => {} });
  assert.ok(again.created);
  assert.equal((await s.get(again.job.id))?.status, 'queued');
  await assert.rejects(s.create('acme', request(), { idempotencyKey: 'k', alongside: () => {} }), /without an idempotency key/);
});
