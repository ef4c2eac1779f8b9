import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createLogger, createRedis, createRegistry, JobStore, listen, Tenants, UploadStore, type TenantCredentials, type VodApi } from '@vod-ingest/shared';
import { startTestRedis, type TestRedis } from '@vod-ingest/shared/testing';
import type { Server } from 'node:http';
import { parseApiKeys } from '../src/api-keys.js';
import { createApp } from '../src/app.js';
import type { IngestQueue } from '../src/ingest.queue.js';
import { SseHub } from '../src/sse-hub.js';
import { API_KEYS_ENV, KEYS } from './helpers.js';
import { ingestFixture, type IngestFixture } from './jobs.helpers.js';

const PREFIX = '{vit-enqueue}';
let redis: TestRedis;
let fx: IngestFixture;
let server: Server;
let url: string;
let conn: ReturnType<typeof createRedis>;
let logs = '';

/** A queue whose Redis is gone: every add fails. */
const brokenQueue: IngestQueue = {
  enqueue: async () => {
    throw new Error('Connection is closed.');
  },
  remove: async () => {},
  close: async () => {},
};

before(async () => {
  redis = await startTestRedis();
  fx = ingestFixture();
  conn = createRedis(redis.url, { blocking: false });
  const log = createLogger('api', { destination: new Writable({ write: (c, _e, cb) => ((logs += String(c)), cb()) }) });
  const app = createApp({
    log,
    registry: createRegistry('api'),
    redis: conn,
    apiKeys: parseApiKeys(API_KEYS_ENV).keys,
    tenants: new Tenants([]),
    credentials: {} as TenantCredentials,
    vod: {} as VodApi,
    rateLimit: { limit: 100, windowSeconds: 60 },
    jobRateLimit: { limit: 100, windowSeconds: 60 },
    jobs: new JobStore(conn, { prefix: PREFIX }),
    uploads: new UploadStore(conn, { prefix: PREFIX }),
    vodEvents: {},
    oss: { endpoint: 'http://127.0.0.1:9', region: 'cn-shanghai' },
    queue: brokenQueue,
    sourcePolicy: { ingestRoots: [fx.root], allowlist: [] },
    hub: new SseHub({ connect: () => createRedis(redis.url), streamKeys: [`${PREFIX}:events`], log }),
    sseMaxPerTenant: 10,
  });
  const l = await listen(app, 0, '127.0.0.1');
  server = l.server;
  url = `http://127.0.0.1:${l.port}`;
});
after(async () => {
  await new Promise((r) => server?.close(r));
  conn?.disconnect();
  fx?.remove();
  await redis?.stop();
});

test('queue.add failing: 503 QUEUE_UNAVAILABLE, and the recorded job is failed ENQUEUE_FAILED, not left queued', async () => {
  const res = await fetch(`${url}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json', 'idempotency-key': 'enqueue-1' },
    body: JSON.stringify({ source: { type: 'file', path: fx.clip }, target: { type: 'vod', title: 'x' } }),
  });
  assert.equal(res.status, 503);
  assert.equal(res.headers.get('retry-after'), '1');
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'QUEUE_UNAVAILABLE');
  const store = new JobStore(conn, { prefix: PREFIX });
  const { jobs } = await store.list('acme', { limit: 10 });
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0].status, 'failed');
  assert.equal(jobs[0].error?.code, 'ENQUEUE_FAILED');
  assert.deepEqual(
    (await store.events(jobs[0].id)).map((e) => e.type),
    ['job.queued', 'job.failed'],
  );
  assert.match(logs, /JobEnqueueFailed/);
});
