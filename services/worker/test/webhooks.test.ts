import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Registry, type Counter } from 'prom-client';
import { createLogger, createRedis, eventSeq, JobStore, newWebhookSecret, QUEUES, type JobEvent, type JobRequest } from '@vod-ingest/shared';
import { startTestRedis, type TestRedis } from '@vod-ingest/shared/testing';
import { createEventWorkers, deliveryJobId, type EventWorkers } from '../src/events/index.js';

let redisServer: TestRedis;
let redis: Redis;
const secret = newWebhookSecret();
let prefixes = 0;

before(async () => {
  redisServer = await startTestRedis();
  redis = createRedis(redisServer.url);
});
after(async () => {
  redis?.disconnect();
  await redisServer?.stop();
});

// ---- A Standard Webhooks verifier, written from the spec (https://www.standardwebhooks.com) ----

/** Verifies `webhook-signature` over `${id}.${timestamp}.${body}` with the key after `whsec_`. */
function verifyStandardWebhook(key: string, headers: IncomingHttpHeaders, body: string, toleranceSeconds = 300): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') return false;
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const secretBytes = Buffer.from(key.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', secretBytes).update(`${id}.${timestamp}.${body}`).digest();
  return signatures.split(' ').some((s) => {
    const [version, sig] = s.split(',');
    const given = Buffer.from(sig ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

interface Received {
  id: string;
  timestamp: string;
  contentType?: string;
  event: JobEvent;
  verified: boolean;
  status: number;
}

/**
 * A local HTTP endpoint answering `answer(event, n)` after `delayMs(n)` (n counts all requests,
 * from 1). Requests are listed as they arrive; `status` is 0 until answered.
 */
async function startReceiver(t: TestContext, answer: (event: JobEvent, n: number) => number = () => 204, delayMs: (n: number) => number = () => 0) {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const event = JSON.parse(body) as JobEvent;
      const received: Received = {
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        contentType: req.headers['content-type'],
        event,
        verified: verifyStandardWebhook(secret, req.headers, body),
        status: 0,
      };
      requests.push(received);
      const n = requests.length;
      const reply = () => {
        received.status = answer(event, n);
        res.writeHead(received.status).end();
      };
      const delay = delayMs(n);
      if (delay > 0) setTimeout(reply, delay);
      else reply();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  t.after(() => new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections())));
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    requests,
    /** Event ids answered with 2xx, in arrival order. */
    delivered: () => requests.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.id),
  };
}

/** A receiver's `delayMs`: its first request is answered after `ms`, the others at once. */
const firstAfter = (ms: number) => (n: number) => (n === 1 ? ms : 0);

// ---- One harness per test: its own key prefix, store, registry, logs ----

async function harness(
  t: TestContext,
  webhookUrls: string[],
  opts: { retryScheduleMs?: number[]; shared?: boolean; orphanWaitMs?: number; directDeadlineMs?: number; concurrency?: number } = {},
) {
  const prefix = `{wh-test-${++prefixes}}`;
  const store = new JobStore(redis, { prefix });
  const registry = new Registry();
  const logs: string[] = [];
  const log = createLogger('test', { level: 'debug', destination: new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }) });
  const start = (): EventWorkers => {
    const workers = createEventWorkers({
      ...(opts.shared ? { connection: redis } : { redisUrl: redisServer.url }),
      store,
      prefix,
      webhookUrls,
      webhookSecret: secret,
      allowlist: ['127.0.0.1'],
      retryScheduleMs: opts.retryScheduleMs ?? [100, 200, 400, 800],
      concurrency: opts.concurrency ?? 5,
      registry,
      log,
      orderPollMs: 200,
      orphanWaitMs: opts.orphanWaitMs,
      directDeadlineMs: opts.directDeadlineMs,
      dispatcher: { blockMs: 500 },
    });
    t.after(() => workers.close());
    return workers;
  };
  const outcomes = async () => {
    const metric = registry.getSingleMetric('webhook_deliveries_total') as Counter<'outcome'>;
    const values = (await metric.get()).values;
    return Object.fromEntries(values.map((v) => [v.labels.outcome, v.value])) as Record<string, number>;
  };
  return { prefix, store, registry, logs, start, outcomes };
}

const request = (callbackUrl?: string): JobRequest => ({
  source: { type: 'file', path: '/data/in.mp4' },
  target: { type: 'oss', bucket: 'vod-bucket', key: 'out/in.mp4' },
  ...(callbackUrl ? { callbackUrl } : {}),
});
const progress = { bytesUploaded: 10, bytesTotal: 10, partsUploaded: 1, partsTotal: 1 };

/** A job through queued → started → progress → succeeded: events seq 1..4. */
async function runJob(store: JobStore, callbackUrl?: string, tenant?: string): Promise<string[]> {
  return (await runJobEvents(store, callbackUrl, tenant)).map((e) => e.id);
}

async function runJobEvents(store: JobStore, callbackUrl?: string, tenant = 'tenant-a'): Promise<JobEvent[]> {
  const created = await store.create(tenant, request(callbackUrl));
  assert.ok(created.created);
  const id = created.job.id;
  await store.start(id, 1);
  await store.progress(id, progress, true);
  await store.succeed(id, { bucket: 'vod-bucket', key: 'out/in.mp4', size: 10, etag: 'e', crc64: '1' }, progress);
  return store.events(id);
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('webhook delivery', () => {
  test('every event arrives once, signed and in seq order, at a WEBHOOK_URLS endpoint and at the callbackUrl', async (t) => {
    const [configured, callback] = await Promise.all([startReceiver(t), startReceiver(t)]);
    const h = await harness(t, [configured.url]);
    h.start();
    const stored = await runJobEvents(h.store, callback.url);
    const ids = stored.map((e) => e.id);
    assert.deepEqual(
      ids.map((id) => eventSeq({ id })),
      [1, 2, 3, 4],
    );
    await waitFor('4 deliveries at each endpoint', () => configured.delivered().length === 4 && callback.delivered().length === 4);
    await sleep(800); // room for a duplicate to show up
    for (const r of [configured, callback]) {
      assert.deepEqual(
        r.requests.map((q) => q.id),
        ids,
        'each event once, in order',
      );
      assert.ok(
        r.requests.every((q) => q.verified),
        'every signature verifies',
      );
      assert.ok(r.requests.every((q) => q.contentType === 'application/json'));
      assert.deepEqual(
        r.requests.map((q) => q.event),
        stored,
        'the body is the envelope',
      );
    }
    assert.equal((await h.outcomes()).delivered, 8);
    assert.ok(!h.logs.join('').includes(secret.slice('whsec_'.length)), 'the secret is not in the logs');
  });

  test('the verifier refuses a wrong secret, a changed body and an old timestamp', () => {
    const body = '{"id":"evt_x_1"}';
    const sign = (key: string, ts: number, b = body) => ({
      'webhook-id': 'evt_x_1',
      'webhook-timestamp': String(ts),
      'webhook-signature': `v1,${createHmac('sha256', Buffer.from(key.slice(6), 'base64'))
        .update(`evt_x_1.${ts}.${b}`)
        .digest('base64')}`,
    });
    const now = Math.floor(Date.now() / 1000);
    assert.equal(verifyStandardWebhook(secret, sign(secret, now), body), true);
    assert.equal(verifyStandardWebhook(secret, sign(newWebhookSecret(), now), body), false);
    assert.equal(verifyStandardWebhook(secret, sign(secret, now), `${body} `), false);
    assert.equal(verifyStandardWebhook(secret, sign(secret, now - 3600), body), false);
  });

  test('a 500 three times is retried until delivered, and the job’s later events wait for it, in order', async (t) => {
    const receiver = await startReceiver(t, (_e, n) => (n <= 3 ? 500 : 200));
    const h = await harness(t, [receiver.url]);
    h.start();
    const ids = await runJob(h.store);
    await waitFor('4 deliveries', () => receiver.delivered().length === 4);
    await sleep(500);
    assert.deepEqual(
      receiver.requests.map((r) => r.id),
      [ids[0], ids[0], ids[0], ids[0], ids[1], ids[2], ids[3]],
    );
    assert.deepEqual(
      receiver.requests.map((r) => r.status),
      [500, 500, 500, 200, 200, 200, 200],
    );
    assert.ok(
      receiver.requests.every((r) => r.verified),
      'each attempt is signed afresh and verifies',
    );
    assert.deepEqual(await h.outcomes(), { retried: 3, delivered: 4 });
  });

  test('an event given up after its last attempt does not hold back the job’s later events', async (t) => {
    const receiver = await startReceiver(t, (e) => (eventSeq(e) === 2 ? 503 : 200));
    const h = await harness(t, [receiver.url], { retryScheduleMs: [100, 200] });
    h.start();
    const ids = await runJob(h.store);
    await waitFor('the events after the failed one', () => receiver.delivered().length === 3);
    await sleep(500);
    assert.deepEqual(
      receiver.requests.map((r) => r.id),
      [ids[0], ids[1], ids[1], ids[1], ids[2], ids[3]],
    );
    assert.deepEqual(await h.outcomes(), { delivered: 3, retried: 2, failed: 1 });
    assert.ok(h.logs.some((l) => l.includes('"WebhookDeliveryFailed"')));
  });

  test('a 410 disables the endpoint: it gets nothing more, others go on', async (t) => {
    const [gone, ok] = await Promise.all([startReceiver(t, () => 410), startReceiver(t)]);
    const h = await harness(t, [ok.url]);
    h.start();
    const first = await runJob(h.store, gone.url);
    await waitFor('the first job at the working endpoint', () => ok.delivered().length === 4);
    const second = await runJob(h.store, gone.url);
    await waitFor('the second job at the working endpoint', () => ok.delivered().length === 8);
    await sleep(800);
    assert.deepEqual(
      gone.requests.map((r) => r.id),
      [first[0]],
      'one request, then nothing',
    );
    assert.deepEqual(ok.delivered(), [...first, ...second]);
    assert.equal(await redis.sismember(`${h.prefix}:webhooks:disabled`, gone.url), 1);
    assert.deepEqual(await h.outcomes(), { disabled: 1, delivered: 8 });
    assert.ok(h.logs.some((l) => l.includes('"WebhookEndpointDisabled"')));
  });

  test('a slow endpoint holds back no other tenant: its answer is awaited in the background, the rest goes by the queue', async (t) => {
    // Tenant A's callbackUrl answers its first request only after 6 s (the webhook timeout is 10 s).
    const slow = await startReceiver(t, undefined, firstAfter(6000));
    const other = await startReceiver(t);
    const h = await harness(t, [], { directDeadlineMs: 1000 });
    const queue = new Queue(QUEUES.webhooks, { connection: redis, prefix: h.prefix });
    t.after(() => queue.close());
    h.start();
    const slowIds = await runJob(h.store, slow.url, 'tenant-a');
    await waitFor('the slow endpoint’s first request', () => slow.requests.length === 1);
    // Tenant B's job ends while A's first event is still out.
    const t0 = Date.now();
    const otherIds = await runJob(h.store, other.url, 'tenant-b');
    await waitFor('tenant B’s four events', () => other.delivered().length === 4);
    const waited = Date.now() - t0;
    assert.ok(waited < 4000, `tenant B's events waited ${waited} ms behind tenant A's slow endpoint (the deadline is 1 s; it answers after 6 s)`);
    assert.deepEqual(
      other.requests.map((r) => r.id),
      otherIds,
    );
    // Meanwhile a delivery job, due only after the attempt's timeout, stands in for the attempt.
    const standIn = deliveryJobId(slowIds[0]!, slow.url);
    assert.equal(await queue.getJobState(standIn), 'delayed');
    assert.ok((await queue.getJob(standIn))!.delay > 10_000, 'due only after the attempt’s timeout (10 s)');

    // A's answer comes: the job's later events follow by the queue, each once, in order; the stand-in goes.
    await waitFor('tenant A’s four events', async () => (await h.outcomes()).delivered === 8, 15_000);
    assert.deepEqual(
      slow.requests.map((r) => r.id),
      slowIds,
    );
    assert.ok(slow.requests.every((r) => r.verified));
    assert.equal(await queue.getJobState(standIn), 'unknown');

    // Tenant A's next job, with another slow callbackUrl, is not tried directly: for a while A's
    // callbacks go by the queue, whatever their URL. Tenant B's go on directly.
    const slow2 = await startReceiver(t, undefined, firstAfter(3000));
    const slow2Ids = await runJob(h.store, slow2.url, 'tenant-a');
    const other2Ids = await runJob(h.store, other.url, 'tenant-b');
    await waitFor('tenant A’s second job, by the queue', async () => (await h.outcomes()).delivered === 16, 15_000);
    assert.deepEqual(
      slow2.requests.map((r) => r.id),
      slow2Ids,
    );
    assert.deepEqual(other.delivered(), [...otherIds, ...other2Ids]);
    assert.deepEqual(await h.outcomes(), { delivered: 16 });
  });

  test('an attempt that fails after the deadline is retried on the schedule by its stand-in, not after the timeout', async (t) => {
    const receiver = await startReceiver(
      t,
      (_e, n) => (n === 1 ? 503 : 204),
      (n) => (n === 1 ? 1500 : 0),
    );
    const h = await harness(t, [receiver.url], { directDeadlineMs: 300 });
    h.start();
    const created = await h.store.create('tenant-a', request());
    assert.ok(created.created);
    const t0 = Date.now();
    await waitFor('the retry', async () => (await h.outcomes()).delivered === 1);
    assert.ok(Date.now() - t0 < 5000, 'retried 100 ms after the answer, not when the stand-in was first due (15 s)');
    assert.deepEqual(
      receiver.requests.map((r) => r.status),
      [503, 204],
    );
    assert.deepEqual(await h.outcomes(), { retried: 1, delivered: 1 });
  });

  test('with no retries configured, an attempt that fails after the deadline is given up and the job’s later events go on', async (t) => {
    const receiver = await startReceiver(
      t,
      (_e, n) => (n === 1 ? 503 : 204),
      (n) => (n === 1 ? 1000 : 0),
    );
    const h = await harness(t, [receiver.url], { retryScheduleMs: [], directDeadlineMs: 300 });
    h.start();
    const ids = await runJob(h.store);
    await waitFor('the later events', async () => (await h.outcomes()).delivered === 3);
    await sleep(300);
    assert.deepEqual(
      receiver.requests.map((r) => r.id),
      ids,
      'each once: the stand-in of the first was removed',
    );
    assert.deepEqual(await h.outcomes(), { failed: 1, delivered: 3 });
  });

  test('a queue full of one tenant’s slow deliveries does not hold back another tenant’s: those of an endpoint cooling off go last', async (t) => {
    // One send at a time, in the dispatcher and in the delivery worker. Tenant A's endpoint takes 4 s
    // a request; A has four jobs, B one, all in the dispatcher's first batch, A's first.
    const slow = await startReceiver(t, undefined, () => 4000);
    const other = await startReceiver(t);
    const h = await harness(t, [], { directDeadlineMs: 500, concurrency: 1 });
    for (let i = 0; i < 4; i++) assert.ok((await h.store.create('tenant-a', request(slow.url))).created);
    assert.ok((await h.store.create('tenant-b', request(other.url))).created);
    const t0 = Date.now();
    h.start();
    // A's first attempt is still out at the deadline; the batch's other four deliveries go by the
    // queue, A's behind B's: B's is sent next, not after A's three (12 s).
    await waitFor('tenant B’s event', () => other.delivered().length === 1, 15_000);
    const waited = Date.now() - t0;
    assert.ok(waited < 3000, `tenant B's event waited ${waited} ms behind tenant A's slow deliveries`);
  });

  test('many slow endpoints in one batch: those past the concurrency are not tried directly at all, but queued', async (t) => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    // Fourteen jobs, each with its own callbackUrl answering its first request after 3 s; twelve sends at once.
    const slow = await Promise.all(Array.from({ length: 14 }, () => startReceiver(t, undefined, firstAfter(3000))));
    const h = await harness(t, [], { directDeadlineMs: 1000, concurrency: 12 });
    for (const r of slow) assert.ok((await h.store.create('tenant-a', request(r.url))).created);
    const t0 = Date.now();
    h.start(); // one read takes all fourteen job.queued entries
    await waitFor('every endpoint’s event', async () => (await h.outcomes()).delivered === 14, 15_000);
    // Twelve answered in the background after the deadline, two sent by the queue: each once.
    assert.ok(slow.every((r) => r.requests.length === 1));
    assert.ok(Date.now() - t0 < 9000, 'the two queued ones did not wait for the twelve stand-ins (due after 15 s)');
    assert.deepEqual(await h.outcomes(), { delivered: 14 });
    assert.deepEqual(warnings, []);
  });

  test('a dispatcher restart, even one that re-reads the whole stream, sends nothing twice', async (t) => {
    const receiver = await startReceiver(t);
    // A shared connection (as main.ts passes), and no long wait for predecessors that seem never
    // queued, so nothing but the per-endpoint gate stands between a re-read and a second send.
    const h = await harness(t, [receiver.url], { shared: true, orphanWaitMs: 100 });
    let workers = h.start();
    const created = await h.store.create('tenant-a', request());
    assert.ok(created.created);
    const id = created.job.id;
    await h.store.start(id, 1);
    await waitFor('the first two events', () => receiver.delivered().length === 2);
    await workers.close();

    // While stopped: two more events; then the worst case of a crash, every ack and every
    // finished delivery job lost, so only the per-endpoint gate can stop a second send.
    await h.store.progress(id, progress, true);
    await h.store.succeed(id, { bucket: 'vod-bucket', key: 'k', size: 10, etag: 'e', crc64: '1' }, progress);
    await redis.xgroup('SETID', h.store.keys.events, 'webhooks', '0');
    const queue = new Queue(QUEUES.webhooks, { connection: redis, prefix: h.prefix });
    // (The first two went directly from the dispatcher, so there is no delivery job to lose.)
    await queue.clean(0, 1000, 'completed');
    await queue.close();

    workers = h.start();
    await waitFor('all four events', () => receiver.delivered().length === 4);
    await sleep(1000);
    const ids = (await h.store.events(id)).map((e) => e.id);
    assert.deepEqual(
      receiver.requests.map((r) => r.id),
      ids,
      'each event once, in order',
    );
    await workers.close();
    assert.equal(await redis.ping(), 'PONG', 'a shared connection is left open');
  });
});
