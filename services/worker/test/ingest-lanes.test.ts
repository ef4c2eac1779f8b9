import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createLogger, createRedis, ingestLaneFor, JobStore, QUEUES, type IngestJobData } from '@vod-ingest/shared';
import { startTestRedis, type TestRedis } from '@vod-ingest/shared/testing';
import { BullIngestQueue } from '../../api/src/ingest.queue.js';
import { EnqueueSweeper } from '../src/ingest/enqueue-sweeper.js';

let server: TestRedis;
let redis: Redis;
let dir: string;
const log = createLogger('test', { level: 'fatal' });

before(async () => {
  server = await startTestRedis();
  redis = createRedis(server.url);
  dir = mkdtempSync(path.join(tmpdir(), 'lanes-'));
});
after(async () => {
  redis?.disconnect();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the lane: small when the size is known and at most SMALL_JOB_BYTES; main when bigger, unknown or lanes are off', () => {
  assert.equal(ingestLaneFor(100, 100), QUEUES.ingestSmall);
  assert.equal(ingestLaneFor(101, 100), QUEUES.ingest);
  assert.equal(ingestLaneFor(undefined, 100), QUEUES.ingest);
  assert.equal(ingestLaneFor(1, 0), QUEUES.ingest);
});

test('the api enqueues on the lane of the size, never on both lanes, and removes from either', async (t) => {
  const prefix = '{lanes-api}';
  const api = new BullIngestQueue(redis, { prefix, attempts: 3, backoffSeconds: 1, smallJobBytes: 1000 });
  const main = new Queue<IngestJobData>(QUEUES.ingest, { connection: redis, prefix });
  const small = new Queue<IngestJobData>(QUEUES.ingestSmall, { connection: redis, prefix });
  t.after(() => Promise.all([api.close(), main.close(), small.close()]));

  await api.enqueue({ jobId: 'job_small', tenant: 'acme' }, 1000);
  await api.enqueue({ jobId: 'job_big', tenant: 'acme' }, 1001);
  await api.enqueue({ jobId: 'job_url', tenant: 'acme' });
  assert.deepEqual((await small.getJob('job_small'))?.data, { jobId: 'job_small', tenant: 'acme' });
  assert.equal((await small.getJob('job_small'))?.opts.attempts, 3);
  assert.ok(await main.getJob('job_big'));
  assert.ok(await main.getJob('job_url'));
  // A replay (no size) or a source that grew: the job stays on the lane it is on, once.
  await api.enqueue({ jobId: 'job_small', tenant: 'acme' });
  await api.enqueue({ jobId: 'job_big', tenant: 'acme' }, 10);
  assert.deepEqual([await main.count(), await small.count()], [2, 1]);

  await api.remove('job_small');
  await api.remove('job_big');
  assert.equal(await small.getJob('job_small'), undefined);
  assert.equal(await main.getJob('job_big'), undefined);
  assert.deepEqual([await main.count(), await small.count()], [1, 0]);
});

test('the enqueue sweeper puts a lost job on the lane the api would have, and leaves a job waiting on the small lane alone', async (t) => {
  const prefix = '{lanes-sweep}';
  const store = new JobStore(redis, { prefix });
  const main = new Queue<IngestJobData>(QUEUES.ingest, { connection: redis, prefix });
  const small = new Queue<IngestJobData>(QUEUES.ingestSmall, { connection: redis, prefix });
  t.after(() => Promise.all([main.close(), small.close()]));
  const smallFile = path.join(dir, 'small.mp4');
  const bigFile = path.join(dir, 'big.mp4');
  writeFileSync(smallFile, Buffer.alloc(500));
  writeFileSync(bigFile, Buffer.alloc(5000));
  const create = async (source: { type: 'file'; path: string } | { type: 'url'; url: string }) => {
    const c = await store.create('acme', { source, target: { type: 'oss', bucket: 'b', key: 'k' } });
    assert.ok(c.created);
    return c.job.id;
  };
  const lostSmall = await create({ type: 'file', path: smallFile });
  const lostBig = await create({ type: 'file', path: bigFile });
  const lostUrl = await create({ type: 'url', url: 'https://example.com/a.mp4' });
  const waitingSmall = await create({ type: 'file', path: smallFile });
  await small.add(QUEUES.ingestSmall, { jobId: waitingSmall, tenant: 'acme' }, { jobId: waitingSmall });

  const sweeper = new EnqueueSweeper({ redis, prefix, attempts: 4, backoffSeconds: 2, smallJobBytes: 1000, intervalMs: 60_000, log });
  t.after(() => sweeper.close());
  assert.equal(await sweeper.sweep(Date.now() + 31_000), 3);
  assert.ok(await small.getJob(lostSmall));
  assert.ok(await main.getJob(lostBig));
  assert.ok(await main.getJob(lostUrl));
  assert.equal(await main.getJob(waitingSmall), undefined, 'not put on the main lane too');
  assert.deepEqual([await main.count(), await small.count()], [2, 2]);
});
