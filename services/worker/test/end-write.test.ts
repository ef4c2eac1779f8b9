import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { createLogger, createRedis, JobStore, parseConfig, QUEUES, Tenants, waitForRedis } from '@vod-ingest/shared';
import {
  startEmulator,
  startTestRedis,
  startTokenService,
  writeTenantsFile,
  type TestEmulator,
  type TestRedis,
  type TestService,
} from '@vod-ingest/shared/testing';
import { BullIngestQueue } from '../../api/src/ingest.queue.js';
import { submitJob, type JobSubmissionDeps } from '../../api/src/job-submission.js';
import { workerConfigSchema } from '../src/config.js';
import { createWorkerService } from '../src/worker.js';

// Issue 11: a small job's end (the record's `succeeded` and `job.succeeded`) and BullMQ's
// completion of the job leave the worker in one write, the end first, so Redis runs them in that
// order: one round trip a job less, and nobody sees the job completed while its record still
// runs. In-process worker (as main.ts builds it), real Redis, emulator and token service.

let redis: TestRedis;
let emu: TestEmulator;
let token: TestService & { secret: string };
let inbox: string;
let tenantsFile: string;
let workerConnection: Redis;
let apiConnection: Redis;
let service: ReturnType<typeof createWorkerService>;
let submit: JobSubmissionDeps;
/** The worker's log lines. */
const lines: string[] = [];
/** Each write(2) the worker's Redis socket made, as text. */
const writes: string[] = [];

before(async () => {
  [redis, emu] = await Promise.all([startTestRedis(), startEmulator()]);
  tenantsFile = writeTenantsFile({ acme: { oss: [{ bucket: emu.bucket, prefix: '' }] } });
  token = await startTokenService({ emulator: emu, redisUrl: redis.url, env: { TENANTS_FILE: tenantsFile } });
  inbox = mkdtempSync(path.join(tmpdir(), 'worker-end-inbox-'));
  writeFileSync(path.join(inbox, 'clip.mp4'), Buffer.alloc(4096, 7));
  const config = parseConfig(workerConfigSchema, {
    REDIS_URL: redis.url,
    TOKEN_SERVICE_URL: token.url,
    TOKEN_SERVICE_SECRET: token.secret,
    VOD_ENDPOINT: emu.hostPort,
    OSS_ENDPOINT: emu.url,
    ALIBABA_CLOUD_REGION_ID: emu.region,
    INGEST_ROOTS: inbox,
    TENANTS_FILE: tenantsFile,
    WEBHOOK_SECRET: `whsec_${Buffer.alloc(24, 3).toString('base64')}`,
    LOG_LEVEL: 'info',
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const log = createLogger('worker', { destination: sink });
  workerConnection = createRedis(config.redis, { blocking: true, name: 'worker', log, probeKey: config.KEY_PREFIX });
  await waitForRedis(workerConnection, config.redis);
  // What leaves the socket: a corked socket hands its writes over together (_writev), else one by one.
  const socket = workerConnection.stream as unknown as {
    _write(chunk: Buffer | string, enc: BufferEncoding, cb: () => void): void;
    _writev(chunks: Array<{ chunk: Buffer | string }>, cb: () => void): void;
  };
  const text = (c: Buffer | string) => (typeof c === 'string' ? c : c.toString('latin1'));
  const write = socket._write.bind(socket);
  const writev = socket._writev.bind(socket);
  socket._write = (chunk, enc, cb) => (writes.push(text(chunk)), write(chunk, enc, cb));
  socket._writev = (chunks, cb) => (writes.push(chunks.map((c) => text(c.chunk)).join('')), writev(chunks, cb));
  service = createWorkerService(config, workerConnection, log);

  apiConnection = createRedis(config.redis, { blocking: true, name: 'api' });
  submit = {
    log: createLogger('api', { level: 'fatal' }),
    store: new JobStore(apiConnection, { prefix: config.KEY_PREFIX }),
    queue: new BullIngestQueue(apiConnection, { prefix: config.KEY_PREFIX, attempts: 3, backoffSeconds: 1 }),
    policy: { ingestRoots: [inbox], allowlist: [] },
    tenants: new Tenants(config.TENANTS_FILE),
  };
});

after(async () => {
  await service?.close(5000);
  await submit?.queue.close();
  workerConnection?.disconnect();
  apiConnection?.disconnect();
  await token?.stop();
  await Promise.all([emu?.stop(), redis?.stop()]);
  if (inbox) rmSync(inbox, { recursive: true, force: true });
  if (tenantsFile) rmSync(path.dirname(tenantsFile), { recursive: true, force: true });
});

/** Submits one small job and waits until the worker's BullMQ says it completed; returns its id and its record's status then. */
async function runOne(key: string): Promise<{ id: string; status: string | undefined }> {
  let completed!: (id: string) => void;
  const ids = new Set<string>();
  const seen = new Promise<void>((resolve) => (completed = (id) => ids.has(id) && resolve()));
  const onCompleted = (job: { id?: string }) => completed(job.id ?? '');
  service.ingest.worker.on('completed', onCompleted);
  try {
    const { job } = await submitJob(submit, 'acme', {
      source: { type: 'file', path: path.join(inbox, 'clip.mp4') },
      target: { type: 'oss', bucket: emu.bucket, key },
    });
    ids.add(job.id);
    if ((await submit.store.get(job.id))?.status !== 'succeeded') await seen;
    return { id: job.id, status: (await submit.store.get(job.id))?.status };
  } finally {
    service.ingest.worker.off('completed', onCompleted);
  }
}

/** The index of the worker's write that carries the job's end and, after it in that write, BullMQ's completion; -1 when none does. */
const endWithCompletion = (id: string) =>
  writes.findIndex((w) => {
    const end = w.indexOf('job.succeeded');
    return end >= 0 && w.includes(id) && w.indexOf(`${QUEUES.ingest}:completed`, end) > end;
  });

test("a small job's end and BullMQ's completion leave in one write, the end first; on a new connection, the end is awaited first", async () => {
  // The worker's connection has not run the transition script yet: the end is written and answered first.
  const first = await runOne('end/1.mp4');
  assert.equal(first.status, 'succeeded');
  assert.equal(endWithCompletion(first.id), -1);
  // From then on, one write for both.
  for (const n of [2, 3]) {
    const job = await runOne(`end/${n}.mp4`);
    assert.equal(job.status, 'succeeded', 'the record ended before the queue said completed');
    assert.ok(endWithCompletion(job.id) >= 0, `no write with job ${job.id}'s end and its completion`);
  }
  // The events are those of any job: queued, started, succeeded.
  const job = await runOne('end/4.mp4');
  assert.deepEqual(
    (await submit.store.events(job.id)).map((e) => e.type),
    ['job.queued', 'job.started', 'job.succeeded'],
  );
});

test('an end Redis refused while the completion went through is written again', async () => {
  await runOne('end/warm.mp4');
  // The next end's script call is refused once, as an error reply would be.
  const evalsha = workerConnection.evalsha.bind(workerConnection) as (...args: unknown[]) => Promise<unknown>;
  let refused = 0;
  (workerConnection as unknown as { evalsha: (...args: unknown[]) => Promise<unknown> }).evalsha = (...args: unknown[]) => {
    if (refused === 0 && args.includes('job.succeeded')) {
      refused++;
      return Promise.reject(new Error('ERR refused by the test'));
    }
    return evalsha(...args);
  };
  try {
    const { job } = await submitJob(submit, 'acme', {
      source: { type: 'file', path: path.join(inbox, 'clip.mp4') },
      target: { type: 'oss', bucket: emu.bucket, key: 'end/again.mp4' },
    });
    let status: string | undefined;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && status !== 'succeeded'; await sleep(50))
      status = (await submit.store.get(job.id))?.status;
    assert.equal(status, 'succeeded');
    assert.equal(refused, 1);
    assert.ok(lines.some((l) => l.includes('JobEndNotSaved') && l.includes(job.id)));
    assert.deepEqual(
      (await submit.store.events(job.id)).map((e) => e.type),
      ['job.queued', 'job.started', 'job.succeeded'],
    );
  } finally {
    delete (workerConnection as unknown as { evalsha?: unknown }).evalsha;
  }
});
