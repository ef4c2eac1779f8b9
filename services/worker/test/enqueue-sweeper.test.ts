import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createLogger, createRedis, JobStore, QUEUES, type IngestJobData, type JobRequest } from '@vod-ingest/shared';
import { startTestRedis, type TestRedis } from '@vod-ingest/shared/testing';
import { EnqueueSweeper } from '../src/ingest/enqueue-sweeper.js';

let server: TestRedis;
let redis: Redis;
const log = createLogger('test', { level: 'fatal' });
const request: JobRequest = { source: { type: 'file', path: '/data/in.mp4' }, target: { type: 'oss', bucket: 'b', key: 'k' } };

before(async () => {
  server = await startTestRedis();
  redis = createRedis(server.url);
});
after(async () => {
  redis?.disconnect();
  await server?.stop();
});

test('a job recorded but never enqueued is enqueued once it is 30 s old; enqueued, started, canceled and recent jobs are left alone; one sweeper at a time', async (t) => {
  const prefix = '{sweep-test}';
  const store = new JobStore(redis, { prefix });
  const queue = new Queue<IngestJobData>(QUEUES.ingest, { connection: redis, prefix });
  t.after(() => queue.close());
  const create = async () => {
    const c = await store.create('acme', request);
    assert.ok(c.created);
    return c.job.id;
  };
  const lost = await create(); // the api crashed before queue.add
  const waiting = await create();
  await queue.add(QUEUES.ingest, { jobId: waiting, tenant: 'acme' }, { jobId: waiting });
  const started = await create();
  await store.start(started, 1);
  const canceled = await create();
  await store.cancel(canceled);

  const sweeper = new EnqueueSweeper({ redis, prefix, attempts: 4, backoffSeconds: 2, intervalMs: 60_000, log });
  const other = new EnqueueSweeper({ redis, prefix, attempts: 4, backoffSeconds: 2, intervalMs: 60_000, log });
  t.after(() => Promise.all([sweeper.close(), other.close()]));

  assert.equal(await sweeper.sweep(), 0, 'nothing is 30 s old yet');
  const recent = await create(); // will be only 10 s old at the next look
  assert.equal(await other.sweep(Date.now() + 31_000), 0, 'another worker does not sweep while the first holds the lock');
  assert.equal(await sweeper.sweep(Date.now() + 31_000), 2, 'the lost job and the recent one (31 s "later") are enqueued');
  const job = await queue.getJob(lost);
  assert.deepEqual(job?.data, { jobId: lost, tenant: 'acme' });
  assert.equal(job?.opts.attempts, 4);
  assert.deepEqual(job?.opts.backoff, { type: 'exponential', delay: 2000 });
  assert.ok(await queue.getJob(recent));
  assert.equal(await queue.getJob(started), undefined);
  assert.equal(await queue.getJob(canceled), undefined);
  assert.equal(await queue.count(), 3, 'the waiting job once, plus the two enqueued');
  assert.equal(await sweeper.sweep(Date.now() + 60_000), 0, 'each job is looked at once');
});
