import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { getEventListeners } from 'node:events';
import { after, before, test } from 'node:test';
import { UnrecoverableError, type Job } from 'bullmq';
import { Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import {
  createLogger,
  createRedis,
  JobStore,
  OpenApiVodClient,
  Tenants,
  type Credential,
  type CredentialSource,
  type IngestJobData,
  type JobRequest,
  type VodApi,
} from '@vod-ingest/shared';
import { freePort, startTestRedis, type TestRedis } from '@vod-ingest/shared/testing';
import { createIngestProcessor, type IngestDeps } from '../src/ingest/upload.processor.js';
import { CheckpointStore } from '../src/upload/checkpoint.store.js';
import { createWorkerMetrics } from '../src/worker.metrics.js';

// A URIError, RangeError or TypeError during an upload is a bug or input that can never be sent:
// the job fails at once, not retryable, instead of being retried as if the network were down.
// Records are written straight to the store, as jobs accepted before the api refused such input.

const PREFIX = '{worker-programming-errors}';
let redisServer: TestRedis;
let redis: Redis;
let jobs: JobStore;
let dir: string;
let clip: string;
/** Nothing listens here: a request that reaches the network fails with ECONNREFUSED (retryable). */
let deadEndpoint: string;

const credential: Credential = {
  accessKeyId: 'STS.test',
  accessKeySecret: 'secret',
  securityToken: 'token',
  expiration: new Date(Date.now() + 3_600_000).toISOString(),
  region: 'cn-shanghai',
};
const source: CredentialSource = { get: async () => credential, refreshAfterRejection: async () => credential };
const quiet = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });

before(async () => {
  redisServer = await startTestRedis();
  redis = createRedis(redisServer.url);
  jobs = new JobStore(redis, { prefix: PREFIX });
  dir = mkdtempSync(path.join(tmpdir(), 'worker-programming-errors-'));
  clip = path.join(dir, 'clip.mp4');
  writeFileSync(clip, Buffer.alloc(2048, 1));
  deadEndpoint = `http://localhost:${await freePort()}`;
});
after(async () => {
  redis?.disconnect();
  await redisServer?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function deps(vod: VodApi, shutdown = new AbortController().signal): IngestDeps {
  return {
    jobs,
    tenants: new Tenants([
      { name: 'acme', apiKeys: [], oss: [{ bucket: 'media-bucket', prefix: '' }], vod: {}, origins: [], rateLimits: {}, configured: true },
    ]),
    checkpoints: new CheckpointStore(redis, PREFIX),
    sources: { ingestRoots: [dir], spoolUrl: async () => assert.fail('no url sources here') },
    targets: {
      vod,
      ingest: { forTenant: () => source },
      jobs,
      ossEndpoint: deadEndpoint,
      region: 'cn-shanghai',
      metrics: createWorkerMetrics(new Registry()),
      log: quiet,
    },
    metrics: createWorkerMetrics(new Registry()),
    log: quiet,
    defaults: { partSize: 1024 * 1024, parallel: 2, retryCount: 0, retryDurationMs: 10 },
    shutdown,
  };
}

/** Runs one attempt (the first of three) of a job recorded with `request`; answers what the processor threw and the record after. */
async function attempt(vod: VodApi, request: JobRequest) {
  const { job } = (await jobs.create('acme', request)) as { job: { id: string } };
  const bull = { data: { jobId: job.id, tenant: 'acme' }, attemptsStarted: 1, attemptsMade: 0, opts: { attempts: 3 } } as unknown as Job<IngestJobData>;
  const thrown = await createIngestProcessor(deps(vod))(bull, 'lock-token').then(
    () => assert.fail('the attempt succeeded'),
    (err: unknown) => err,
  );
  return { thrown, record: (await jobs.get(job.id))! };
}

const vodJob = (title: string): JobRequest => ({ source: { type: 'file', path: clip }, target: { type: 'vod', title, fileName: 'clip.mp4' } });
const realVod = () => new OpenApiVodClient({ endpoint: deadEndpoint, region: 'cn-shanghai' });
const throwingVod = (err: Error): VodApi => ({
  createUploadVideo: async () => {
    throw err;
  },
  refreshUploadVideo: async () => assert.fail('not called'),
});

function assertFailedForGood(r: Awaited<ReturnType<typeof attempt>>, code: string) {
  assert.ok(r.thrown instanceof UnrecoverableError, `BullMQ must not retry: ${String(r.thrown)}`);
  assert.equal(r.record.status, 'failed');
  assert.equal(r.record.error?.code, code);
  assert.equal(r.record.error?.retryable, false);
}

test('a lone surrogate in a VOD title (openapi-core: URIError "URI malformed") fails the job, not retryable', async () => {
  const r = await attempt(realVod(), vodJob('Clip \ud800'));
  assertFailedForGood(r, 'INTERNAL_ERROR');
  assert.doesNotMatch(r.record.error!.message, /Could not reach Alibaba Cloud/);
});

test('an OSS metadata value Node cannot send as a header (ali-oss: TypeError) fails the job, not retryable', async () => {
  const request: JobRequest = {
    source: { type: 'file', path: clip },
    target: { type: 'oss', bucket: 'media-bucket', key: 'in/clip.mp4', metadata: { title: '日本' } },
  };
  assertFailedForGood(await attempt(realVod(), request), 'INTERNAL_ERROR');
});

for (const err of [
  new URIError('URI malformed'),
  new RangeError('Maximum call stack size exceeded'),
  new TypeError("Cannot read properties of undefined (reading 'x')"),
]) {
  test(`a ${err.name} thrown by the VOD client fails the job, not retryable`, async () => {
    assertFailedForGood(await attempt(throwingVod(err), vodJob('Clip')), 'INTERNAL_ERROR');
  });
}

test('contrast: the same job with a good title meets the dead endpoint and is retried (NETWORK_ERROR)', async () => {
  const r = await attempt(realVod(), vodJob('Clip'));
  assert.ok(!(r.thrown instanceof UnrecoverableError), String(r.thrown));
  assert.equal(r.record.status, 'queued', 'back on the queue for the next attempt');
  assert.equal(r.record.error?.code, 'NETWORK_ERROR');
  assert.equal(r.record.error?.retryable, true);
});

test("each attempt takes its listener off the worker's shared shutdown signal when it ends (no leak over many jobs)", async () => {
  const shutdown = new AbortController();
  const processor = createIngestProcessor(deps(throwingVod(new TypeError('boom')), shutdown.signal));
  for (let i = 0; i < 50; i++) {
    const { job } = (await jobs.create('acme', vodJob(`Clip ${i}`))) as { job: { id: string } };
    const bull = { data: { jobId: job.id, tenant: 'acme' }, attemptsStarted: 1, attemptsMade: 0, opts: { attempts: 3 } } as unknown as Job<IngestJobData>;
    await processor(bull, 'lock-token').catch(() => {});
  }
  assert.equal(getEventListeners(shutdown.signal, 'abort').length, 0);
});
