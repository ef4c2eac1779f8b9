import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CacheCipher, type JobEvent } from '@vod-ingest/shared';
import type { TestService } from '@vod-ingest/shared/testing';
import { KEYS, startApi, startStack, type Stack } from './helpers.js';
import { call, httpServer, ingestFixture, inspect, type IngestFixture, type View } from './jobs.helpers.js';

const PREFIX = '{vit-jobs}';
const HEADERS_KEY = randomBytes(32).toString('base64');
const SECRET_HEADER = `Bearer media-origin-${randomBytes(8).toString('hex')}`;

let stack: Stack;
let fx: IngestFixture;
let api: TestService;
let media: Awaited<ReturnType<typeof httpServer>>;
let ins: ReturnType<typeof inspect>;
const seenByMedia: Array<string | undefined> = [];

const fileJob = (extra: Record<string, unknown> = {}) => ({ source: { type: 'file', path: fx.clip }, target: { type: 'vod', title: 'Clip' }, ...extra });
const submit = (key: string, body: unknown, headers: Record<string, string> = {}) => call<View>(api, 'POST', '/v1/jobs', { key, body, headers });

before(async () => {
  stack = await startStack();
  fx = ingestFixture();
  media = await httpServer((req, res) => {
    seenByMedia.push(req.headers.authorization);
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': '10' }).end(req.method === 'HEAD' ? undefined : '0123456789');
  });
  api = await startApi(
    { redisUrl: stack.redis.url, emu: stack.emu, tokenUrl: stack.token.url, tokenSecret: stack.token.secret },
    { INGEST_ROOTS: fx.root, URL_ALLOWLIST: 'localhost', SOURCE_HEADERS_KEY: HEADERS_KEY, KEY_PREFIX: PREFIX },
  );
  ins = inspect(stack.redis.url, PREFIX);
});
after(async () => {
  await api?.stop();
  await ins?.close();
  await media?.close();
  fx?.remove();
  await stack?.stop();
});

describe('POST /v1/jobs', () => {
  test('202 with the view and Location; the BullMQ job has our id, ids only, and the retry policy', async () => {
    const res = await submit(KEYS.acme, fileJob({ metadata: { externalId: '42' } }));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const job = res.body;
    assert.match(job.id, /^job_[0-9a-z]+$/);
    assert.equal(res.headers.get('location'), `/v1/jobs/${job.id}`);
    assert.equal(job.status, 'queued');
    assert.deepEqual(job.source, { type: 'file', path: fx.clip });
    assert.equal((job.target as { fileName?: string }).fileName, 'clip.mp4', 'fileName defaults to the base name');
    assert.deepEqual(job.metadata, { externalId: '42' });
    assert.deepEqual(job.progress, { bytesUploaded: 0, bytesTotal: 0, partsUploaded: 0, partsTotal: 0 });
    assert.equal((job as unknown as { tenant?: string }).tenant, undefined);

    const queued = await ins.queue.getJob(job.id);
    assert.ok(queued, 'a BullMQ job with the job id');
    assert.deepEqual(queued.data, { jobId: job.id, tenant: 'acme' });
    assert.equal(queued.opts.attempts, 5);
    assert.deepEqual(queued.opts.backoff, { type: 'exponential', delay: 5000 });

    const got = await call<View>(api, 'GET', `/v1/jobs/${job.id}`, { key: KEYS.acme });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, job);
  });

  test('url source: headers are checked with, stored sealed, shown by name only and never logged', async () => {
    seenByMedia.length = 0;
    const res = await submit(KEYS.acme, {
      source: { type: 'url', url: `${media.url}/media/My%20Video.mp4`, headers: { Authorization: SECRET_HEADER } },
      target: { type: 'vod', title: 'From a URL' },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.deepEqual(res.body.source, { type: 'url', url: `${media.url}/media/My%20Video.mp4`, headerNames: ['Authorization'] });
    assert.equal((res.body.target as { fileName?: string }).fileName, 'My Video.mp4');
    assert.deepEqual(seenByMedia, [SECRET_HEADER], 'the redirect check sent the headers once (HEAD)');

    const stored = await ins.redis.hgetall(`${PREFIX}:job:${res.body.id}`);
    assert.ok(!JSON.stringify(stored).includes(SECRET_HEADER), 'not in Redis in the clear');
    const opened = new CacheCipher(HEADERS_KEY).open(stored.sealedHeaders, 'acme');
    assert.deepEqual(JSON.parse(opened ?? 'null'), { Authorization: SECRET_HEADER });
    const got = await call(api, 'GET', `/v1/jobs/${res.body.id}`, { key: KEYS.acme });
    assert.ok(!JSON.stringify(got.body).includes(SECRET_HEADER));
    assert.ok(!api.proc.output().includes(SECRET_HEADER), 'not in the logs');
  });

  test('Idempotency-Key: same body → 200 and the same job, another body → 409, one BullMQ job', async () => {
    const key = `order-${randomBytes(6).toString('hex')}`;
    const before = await ins.queue.count();
    const first = await submit(KEYS.acme, fileJob(), { 'idempotency-key': key });
    const again = await submit(KEYS.acme, fileJob(), { 'idempotency-key': key });
    const other = await submit(KEYS.acme, fileJob({ metadata: { n: 2 } }), { 'idempotency-key': key });
    assert.equal(first.status, 202);
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.headers.get('location'), `/v1/jobs/${first.body.id}`);
    assert.equal(other.status, 409);
    assert.equal(other.body.error?.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.equal((await ins.queue.count()) - before, 1, 'exactly one BullMQ job');

    // Another tenant's identical key is its own.
    const globex = await submit(KEYS.globex, fileJob(), { 'idempotency-key': key });
    assert.equal(globex.status, 202);
    assert.notEqual(globex.body.id, first.body.id);
  });

  test('a replay of a queued job whose enqueue was lost puts it back on the queue', async () => {
    const key = `lost-${randomBytes(6).toString('hex')}`;
    const first = await submit(KEYS.acme, fileJob(), { 'idempotency-key': key });
    await ins.queue.remove(first.body.id); // as if the api had crashed between record and enqueue
    assert.equal(await ins.queue.getJob(first.body.id), undefined);
    const again = await submit(KEYS.acme, fileJob(), { 'idempotency-key': key });
    assert.equal(again.status, 200);
    assert.ok(await ins.queue.getJob(first.body.id), 'enqueued again');
  });

  test('a replay answers the first job even when its source file has gone since', async () => {
    const key = `gone-${randomBytes(6).toString('hex')}`;
    const file = path.join(fx.root, 'inbox', `gone-${randomBytes(4).toString('hex')}.mp4`);
    writeFileSync(file, Buffer.alloc(1024, 1));
    const body = { source: { type: 'file', path: file }, target: { type: 'oss', bucket: 'media-b', key: 'gone.mp4' } };
    const first = await submit(KEYS.acme, body, { 'idempotency-key': key });
    assert.equal(first.status, 202);
    unlinkSync(file);
    const again = await submit(KEYS.acme, body, { 'idempotency-key': key });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.id, first.body.id);
    const fresh = await submit(KEYS.acme, body, { 'idempotency-key': `${key}-new` });
    assert.equal(fresh.status, 400, 'a new key still checks the source');
    assert.equal(fresh.body.error?.code, 'SOURCE_NOT_FOUND');
  });
});

describe('GET /v1/jobs', () => {
  test('newest first, cursor pages, status filter', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await submit(KEYS.limited, fileJob({ metadata: { i } }))).body.id);
    const canceled = await call(api, 'DELETE', `/v1/jobs/${ids[1]}`, { key: KEYS.limited });
    assert.equal(canceled.status, 200);

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 5; page++) {
      const res = await call<{ jobs: View[]; nextCursor?: string }>(api, 'GET', `/v1/jobs?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { key: KEYS.limited });
      assert.equal(res.status, 200);
      assert.ok(res.body.jobs.length <= 2);
      seen.push(...res.body.jobs.map((j) => j.id));
      cursor = res.body.nextCursor;
      if (!cursor) break;
    }
    assert.deepEqual(seen, [...ids].reverse());

    const byStatus = async (status: string) =>
      (await call<{ jobs: View[] }>(api, 'GET', `/v1/jobs?status=${status}`, { key: KEYS.limited })).body.jobs.map((j) => j.id);
    assert.deepEqual(await byStatus('canceled'), [ids[1]]);
    assert.deepEqual(await byStatus('queued'), [ids[4], ids[3], ids[2], ids[0]]);
    assert.deepEqual(await byStatus('succeeded'), []);
    const dflt = await call<{ jobs: View[] }>(api, 'GET', '/v1/jobs', { key: KEYS.limited });
    assert.equal(dflt.body.jobs.length, 5);
  });

  test('bad status, limit or cursor → 400 naming the parameter', async () => {
    for (const [query, field] of [
      ['status=done', 'status'],
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=x', 'limit'],
      ['cursor=../x', 'cursor'],
      ['stat=queued', '(body)'],
    ]) {
      const res = await call(api, 'GET', `/v1/jobs?${query}`, { key: KEYS.acme });
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error?.code, 'VALIDATION_FAILED', query);
      assert.equal(res.body.error?.details[0]?.field, field, query);
    }
  });
});

describe('tenants', () => {
  test("another tenant's job is a 404 on get, events and delete, and absent from its list", async () => {
    const { body: job } = await submit(KEYS.acme, fileJob());
    for (const [method, path] of [
      ['GET', `/v1/jobs/${job.id}`],
      ['GET', `/v1/jobs/${job.id}/events`],
      ['DELETE', `/v1/jobs/${job.id}`],
    ]) {
      const res = await call(api, method, path, { key: KEYS.globex });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error?.code, 'JOB_NOT_FOUND');
    }
    const list = await call<{ jobs: View[] }>(api, 'GET', '/v1/jobs?limit=100', { key: KEYS.globex });
    assert.ok(!list.body.jobs.some((j) => j.id === job.id));
    assert.equal((await ins.store.get(job.id))?.status, 'queued', 'the delete did nothing');
    const unknown = await call(api, 'GET', '/v1/jobs/job_doesnotexist00000000000000', { key: KEYS.acme });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error?.code, 'JOB_NOT_FOUND');
  });
});

describe('DELETE /v1/jobs/:id', () => {
  test('a queued job: 200 canceled, its BullMQ job removed, one job.canceled event; again → 409', async () => {
    const { body: job } = await submit(KEYS.acme, fileJob());
    assert.ok(await ins.queue.getJob(job.id));
    const res = await call<View>(api, 'DELETE', `/v1/jobs/${job.id}`, { key: KEYS.acme });
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'canceled');
    assert.ok(res.body.finishedAt);
    assert.equal(await ins.queue.getJob(job.id), undefined, 'BullMQ job removed');
    const events: JobEvent[] = await ins.store.events(job.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['job.queued', 'job.canceled'],
    );
    const again = await call(api, 'DELETE', `/v1/jobs/${job.id}`, { key: KEYS.acme });
    assert.equal(again.status, 409);
    assert.equal(again.body.error?.code, 'JOB_FINISHED');
    assert.equal((await ins.store.events(job.id)).length, 2, 'no second event');
  });

  test('a running job: 202 with cancelRequested; a succeeded one: 409 JOB_FINISHED', async () => {
    const { body: running } = await submit(KEYS.acme, fileJob());
    await ins.store.start(running.id, 1);
    const res = await call<View>(api, 'DELETE', `/v1/jobs/${running.id}`, { key: KEYS.acme });
    assert.equal(res.status, 202);
    assert.equal(res.body.status, 'running');
    assert.equal(res.body.cancelRequested, true);
    assert.equal(await ins.store.isCancelRequested(running.id), true);

    const { body: done } = await submit(KEYS.acme, fileJob());
    await ins.store.start(done.id, 1);
    const progress = { bytesUploaded: 4096, bytesTotal: 4096, partsUploaded: 1, partsTotal: 1 };
    await ins.store.succeed(done.id, { bucket: 'b', key: 'k', size: 4096, etag: 'e', crc64: '1' }, progress);
    const finished = await call(api, 'DELETE', `/v1/jobs/${done.id}`, { key: KEYS.acme });
    assert.equal(finished.status, 409);
    assert.equal(finished.body.error?.code, 'JOB_FINISHED');
    assert.equal((await ins.store.get(done.id))?.status, 'succeeded');
  });
});

describe('submission limit', () => {
  const ONE = `one-${randomBytes(12).toString('hex')}`;
  const TWO = `two-${randomBytes(12).toString('hex')}`;
  test('over JOB_RATE_LIMIT a key gets 429 RATE_LIMITED with Retry-After; other keys, reads and credentials are unaffected', async () => {
    const limited = await startApi(
      { redisUrl: stack.redis.url, emu: stack.emu, tokenUrl: stack.token.url, tokenSecret: stack.token.secret },
      // Keys of their own: counters live per API key in the shared Redis, whichever api counts them.
      { INGEST_ROOTS: fx.root, KEY_PREFIX: '{vit-jobs-limit}', JOB_RATE_LIMIT: '3', API_RATE_LIMIT: '100', API_KEYS: `one:${ONE},two:${TWO}` },
    );
    try {
      const post = (key: string) => call<View>(limited, 'POST', '/v1/jobs', { key, body: fileJob() });
      for (let i = 0; i < 3; i++) assert.equal((await post(ONE)).status, 202);
      const refused = await post(ONE);
      assert.equal(refused.status, 429);
      assert.equal(refused.body.error?.code, 'RATE_LIMITED');
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      assert.equal((await post(TWO)).status, 202, 'another key counts apart');
      assert.equal((await call(limited, 'GET', '/v1/jobs', { key: ONE })).status, 200, 'reads are not limited');
      assert.equal((await call(limited, 'POST', '/v1/sts-tokens', { key: ONE })).status, 200, 'credentials count apart');
    } finally {
      await limited.stop();
    }
  });
});
