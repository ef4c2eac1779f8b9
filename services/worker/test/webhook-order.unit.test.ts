// The webhook order gate with fakes: one job's events reach one endpoint in order. A later event
// waits (parked as delayed, no attempt spent) until its predecessor is done with, and the
// predecessor wakes it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import { Registry } from 'prom-client';
import type { Agent } from 'undici';
import type { JobEvent, Logger } from '@vod-ingest/shared';
import type { WebhookEndpointStore } from '../src/events/webhook-endpoint.store.js';
import { deliveryJobId, eventIdAt, type WebhookJobData } from '../src/events/webhook.job.js';
import { webhookMetrics } from '../src/events/webhook.metrics.js';
import { createWebhookProcessor } from '../src/events/webhook.processor.js';

const JOB_ID = 'job_0123456789abcdef';
// A loopback endpoint that is not allow-listed: a delivery that gets as far as sending fails at
// once, final, without any network — so the tests see whether an event went or waited.
const URL_ = 'http://127.0.0.1:9/hook';

/** The gate and disabled set as the Redis store keeps them. */
class FakeEndpoints {
  readonly gates = new Map<string, number>();
  readonly disabledUrls = new Set<string>();
  async isDisabled(url: string) {
    return this.disabledUrls.has(url);
  }
  async disable(url: string) {
    this.disabledUrls.add(url);
  }
  async gate(url: string, jobId: string) {
    return this.gates.get(`${url} ${jobId}`) ?? 0;
  }
  async advance(url: string, jobId: string, seq: number) {
    const k = `${url} ${jobId}`;
    this.gates.set(k, Math.max(seq, this.gates.get(k) ?? 0));
  }
}

class FakeJob {
  delayedUntil?: number;
  promoted = 0;
  attemptsMade = 0;
  opts = { attempts: 1 };
  timestamp = Date.now();
  constructor(readonly data: WebhookJobData) {}
  async moveToDelayed(ts: number) {
    this.delayedUntil = ts;
  }
  async isDelayed() {
    return this.delayedUntil !== undefined;
  }
  async promote() {
    this.promoted++;
    this.delayedUntil = undefined;
  }
}

/** The webhooks queue: the delivery jobs by id, and the state BullMQ would report for each. */
class FakeQueue {
  readonly jobs = new Map<string, FakeJob>();
  readonly states = new Map<string, string>();
  async getJob(id: string) {
    return this.jobs.get(id);
  }
  async getJobState(id: string) {
    return this.states.get(id) ?? 'unknown';
  }
}

function event(seq: number): JobEvent {
  return { id: eventIdAt(JOB_ID, seq), type: 'job.progress', jobId: JOB_ID, createdAt: new Date().toISOString(), data: {} } as unknown as JobEvent;
}

const silent = { info() {}, warn() {}, error() {}, debug() {}, child: () => silent } as unknown as Logger;

function setup() {
  const endpoints = new FakeEndpoints();
  const queue = new FakeQueue();
  const process = createWebhookProcessor({
    endpoints: endpoints as unknown as WebhookEndpointStore,
    queue: queue as unknown as Queue<WebhookJobData>,
    agent: {} as Agent,
    secret: 'whsec',
    allowlist: [],
    metrics: webhookMetrics(new Registry()),
    log: silent,
    orderPollMs: 5000,
    orphanWaitMs: 60_000,
  });
  const add = (seq: number, state = 'waiting') => {
    const job = new FakeJob({ event: event(seq), url: URL_ });
    queue.jobs.set(deliveryJobId(eventIdAt(JOB_ID, seq), URL_), job);
    queue.states.set(deliveryJobId(eventIdAt(JOB_ID, seq), URL_), state);
    return job;
  };
  const run = (job: FakeJob) => process(job as unknown as Job<WebhookJobData>, 'token');
  const gate = () => endpoints.gate(URL_, JOB_ID);
  return { endpoints, queue, add, run, gate };
}

test('a later event waits for its predecessor: parked as delayed, no attempt spent, gate unmoved', async () => {
  const { add, run, gate } = setup();
  add(1, 'active');
  const second = add(2);
  const before = Date.now();
  await assert.rejects(run(second), DelayedError);
  assert.ok(second.delayedUntil! >= before + 5000, 'parked for orderPollMs');
  assert.equal(await gate(), 0);
});

test('the predecessor, once done, moves the gate and wakes the waiting event', async () => {
  const { endpoints, add, run, gate } = setup();
  endpoints.disabledUrls.add(URL_); // done with at once, without sending
  const first = add(1, 'active');
  const second = add(2);
  second.delayedUntil = Date.now() + 5000;
  assert.equal(await run(first), 'skipped');
  assert.equal(await gate(), 1);
  assert.equal(second.promoted, 1);
  assert.equal(await second.isDelayed(), false);
});

test('an event whose predecessor is done goes (here: to a forbidden address, a final failure that still moves the gate)', async () => {
  const { endpoints, add, run, gate } = setup();
  await endpoints.advance(URL_, JOB_ID, 1);
  const second = add(2);
  const third = add(3);
  third.delayedUntil = Date.now() + 5000;
  await assert.rejects(run(second), (err: Error) => err instanceof UnrecoverableError && /WEBHOOK_URL_FORBIDDEN_ADDRESS/.test(err.message));
  assert.equal(second.delayedUntil, undefined, 'it did not wait');
  assert.equal(await gate(), 2, 'given up: the later events are not held');
  assert.equal(third.promoted, 1);
});

test('an event already done with (a retry after a restart) is skipped, not sent twice', async () => {
  const { endpoints, add, run } = setup();
  await endpoints.advance(URL_, JOB_ID, 3);
  assert.equal(await run(add(2)), 'skipped');
});

test('a predecessor that ended without moving the gate (failed) does not hold the next one', async () => {
  const { add, run } = setup();
  add(1, 'failed');
  const second = add(2);
  await assert.rejects(run(second), UnrecoverableError); // went on to send
  assert.equal(second.delayedUntil, undefined);
});

test('a predecessor never queued for this endpoint is waited for, but not forever', async () => {
  const { queue, add, run } = setup();
  const young = add(2);
  queue.states.delete(deliveryJobId(eventIdAt(JOB_ID, 1), URL_));
  await assert.rejects(run(young), DelayedError);
  const old = add(3);
  old.timestamp = Date.now() - 61_000;
  queue.states.delete(deliveryJobId(eventIdAt(JOB_ID, 2), URL_));
  await assert.rejects(run(old), UnrecoverableError); // past orphanWaitMs: sent
});
