import assert from 'node:assert/strict';
import { unlinkSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { ingestLaneQueues, ingestLockKeys, jobKeys, KEY_PREFIX, QUEUES } from '@vod-ingest/shared';
import { adminOss, KEYS, startStack, writeRandomFile, type Stack } from './stack.js';

const MiB = 1024 * 1024;
const ATTEMPTS = 3;
let stack: Stack;
before(async () => {
  stack = await startStack({ workers: 0, apiEnv: { JOB_ATTEMPTS: String(ATTEMPTS), JOB_BACKOFF_SECONDS: '1' } });
});
after(() => stack?.stop());

async function eventsOf(id: string) {
  return (await stack.streamEvents()).filter((e) => e.jobId === id).map((e) => e.type);
}

/** DELETE /v1/jobs/{id} as tenant acme. */
function cancel(id: string): Promise<Response> {
  return fetch(`${stack.api.url}/v1/jobs/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${KEYS.acme}` } });
}

/** Whether the bucket holds `key`: `written`, `absent`, or the unexpected error. */
function objectState(oss: Awaited<ReturnType<typeof adminOss>>, key: string): Promise<string> {
  return oss.head(key).then(
    () => 'written',
    (err: { status?: number }) => (err.status === 404 ? 'absent' : String(err)),
  );
}

test('a source removed before the upload: failed SOURCE_NOT_FOUND, within the attempts, one job.failed', async () => {
  const file = path.join(stack.inbox, 'gone.mp4');
  await writeRandomFile(file, 2 * MiB);
  const r = await stack.submit({ source: { type: 'file', path: file }, target: { type: 'oss', bucket: stack.emu.bucket, key: 'gone.mp4' } });
  assert.equal(r.status, 202);
  unlinkSync(file);
  if (stack.workers.length === 0) await stack.startWorker();
  const job = await stack.waitFor(r.body.id, { timeoutMs: 60_000 });
  assert.equal(job.status, 'failed');
  assert.equal(job.error?.code, 'SOURCE_NOT_FOUND');
  assert.equal(job.error?.retryable, false);
  assert.ok(job.attempts >= 1 && job.attempts <= ATTEMPTS);
  assert.deepEqual(
    (await eventsOf(job.id)).filter((t) => t === 'job.failed'),
    ['job.failed'],
  );
});

test('a source removed mid-upload: failed with a clear code, one job.failed', async () => {
  const file = path.join(stack.inbox, 'vanishing.mp4');
  await writeRandomFile(file, 24 * MiB);
  await stack.emu.addFaults([{ action: 'UploadPart', rate: 1, latencyMs: 400 }]);
  const r = await stack.submit({
    source: { type: 'file', path: file },
    target: { type: 'oss', bucket: stack.emu.bucket, key: 'vanishing.mp4' },
    upload: { partSize: MiB, parallel: 1 },
  });
  if (stack.workers.length === 0) await stack.startWorker();
  await stack.waitFor(r.body.id, { done: (j) => j.progress.partsUploaded >= 2 });
  unlinkSync(file);
  const job = await stack.waitFor(r.body.id, { timeoutMs: 60_000 });
  await stack.emu.clearFaults();
  assert.equal(job.status, 'failed');
  assert.ok(['SOURCE_NOT_FOUND', 'SOURCE_CHANGED'].includes(job.error!.code), job.error!.code);
  assert.deepEqual(
    (await eventsOf(job.id)).filter((t) => t === 'job.failed'),
    ['job.failed'],
  );
  // A failed upload leaves no parts behind either.
  const { uploads } = await stack.emu.admin<{ uploads: Array<{ key: string }> }>('GET', 'uploads');
  assert.equal(uploads.filter((u) => u.key === 'vanishing.mp4').length, 0);
});

test('cancel mid-upload: canceled, the multipart upload aborted (ListParts → NoSuchUpload), one job.canceled', async () => {
  const file = path.join(stack.inbox, 'cancel.mp4');
  await writeRandomFile(file, 24 * MiB);
  await stack.emu.addFaults([{ action: 'UploadPart', rate: 1, latencyMs: 400 }]);
  const key = 'cancel.mp4';
  const r = await stack.submit({
    source: { type: 'file', path: file },
    target: { type: 'oss', bucket: stack.emu.bucket, key },
    upload: { partSize: MiB, parallel: 2 },
  });
  if (stack.workers.length === 0) await stack.startWorker();
  await stack.waitFor(r.body.id, { done: (j) => j.progress.partsUploaded >= 2 });
  const { uploads } = await stack.emu.admin<{ uploads: Array<{ key: string; uploadId: string }> }>('GET', 'uploads');
  const upload = uploads.find((u) => u.key === key)!;
  assert.ok(upload, 'the multipart upload exists while running');

  const del = await cancel(r.body.id);
  assert.equal(del.status, 202);
  const job = await stack.waitFor(r.body.id, { timeoutMs: 30_000 });
  await stack.emu.clearFaults();
  assert.equal(job.status, 'canceled');
  const oss = await adminOss(stack.emu, stack.emu.bucket);
  await assert.rejects(oss.listParts(key, upload.uploadId), (err: { code?: string }) => err.code === 'NoSuchUpload');
  assert.deepEqual(
    (await eventsOf(job.id)).filter((t) => t.startsWith('job.') && ['job.succeeded', 'job.failed', 'job.canceled'].includes(t)),
    ['job.canceled'],
  );
  const again = await cancel(r.body.id);
  assert.equal(again.status, 409);
});

test('a small job writes its start with its end; one that takes longer says running; a cancel while a worker holds it is a 202, never a 200 under its feet, and how the job ends matches its object', async () => {
  if (stack.workers.length === 0) await stack.startWorker();
  const quick = path.join(stack.inbox, 'quick.mp4');
  await writeRandomFile(quick, 256 * 1024);
  const q = await stack.submit({ source: { type: 'file', path: quick }, target: { type: 'oss', bucket: stack.emu.bucket, key: 'quick.mp4' } });
  const done = await stack.waitFor(q.body.id, { timeoutMs: 30_000 });
  assert.equal(done.status, 'succeeded');
  assert.equal(done.attempts, 1);
  assert.ok(done.startedAt && done.finishedAt && done.startedAt <= done.finishedAt);
  assert.deepEqual(await eventsOf(q.body.id), ['job.queued', 'job.started', 'job.succeeded']);

  // A PUT held 4 s by the emulator: the worker holds the job, the record says queued for a moment, then running.
  await stack.emu.addFaults([{ action: 'PutObject', rate: 1, latencyMs: 4000 }]);
  const slow = path.join(stack.inbox, 'slow.mp4');
  await writeRandomFile(slow, 256 * 1024);
  const key = 'slow-small.mp4';
  const s = await stack.submit({ source: { type: 'file', path: slow }, target: { type: 'oss', bucket: stack.emu.bucket, key } });
  const redis = new Redis(stack.redis.url);
  try {
    const locks = ingestLockKeys(KEY_PREFIX, s.body.id);
    for (const end = Date.now() + 15_000; (await redis.exists(...locks)) === 0; await sleep(10)) {
      assert.ok(Date.now() < end, 'a worker takes the job');
    }
    const del = await cancel(s.body.id);
    assert.equal(del.status, 202, 'a job a worker holds is flagged, whatever its record says yet');
    const running = await stack.waitFor(s.body.id, { timeoutMs: 2000, done: (j) => j.status !== 'queued' });
    assert.ok(['running', 'canceled'].includes(running.status), running.status);
    // One PUT is one part: the worker stops at its end, so the job ends either way, and says so truly.
    const job = await stack.waitFor(s.body.id, { timeoutMs: 30_000 });
    assert.ok(['canceled', 'succeeded'].includes(job.status), job.status);
    assert.deepEqual(await eventsOf(s.body.id), ['job.queued', 'job.started', `job.${job.status}`]);
    const oss = await adminOss(stack.emu, stack.emu.bucket);
    const head = await objectState(oss, key);
    assert.equal(head, job.status === 'succeeded' ? 'written' : 'absent');
  } finally {
    redis.disconnect();
    await stack.emu.clearFaults();
  }
});

test('a lane job that reaches a worker before its record waits for it without spending an attempt; one that never gets a record is dropped', async () => {
  if (stack.workers.length === 0) await stack.startWorker();
  const redis = new Redis(stack.redis.url);
  const queues = ingestLaneQueues(redis, KEY_PREFIX);
  const lanes = Object.values(queues);
  const small = queues[QUEUES.ingestSmall];
  try {
    // The api sends a job's record and its lane job in one write, the record first. After a SCRIPT
    // FLUSH the record's script is sent again behind the lane job: a worker can see the job first.
    // Here the record is moved away while the lanes are paused, then the lanes resume.
    await Promise.all(lanes.map((q) => q.pause()));
    const file = path.join(stack.inbox, 'early.mp4');
    await writeRandomFile(file, 256 * 1024);
    const r = await stack.submit({ source: { type: 'file', path: file }, target: { type: 'oss', bucket: stack.emu.bucket, key: 'early.mp4' } });
    assert.equal(r.status, 202);
    const record = jobKeys(KEY_PREFIX).job(r.body.id);
    await redis.rename(record, `${record}:away`);
    await Promise.all(lanes.map((q) => q.resume()));
    for (const end = Date.now() + 15_000; (await small.getJobState(r.body.id)) !== 'delayed'; await sleep(20)) {
      assert.ok(Date.now() < end, 'a worker takes the job and puts it back for later');
    }
    assert.equal((await small.getJob(r.body.id))?.attemptsMade, 0, 'waiting for the record spends no attempt');
    await redis.rename(`${record}:away`, record);
    const job = await stack.waitFor(r.body.id, { timeoutMs: 30_000 });
    assert.equal(job.status, 'succeeded');
    // (The record's attempt number is BullMQ's count of takes, as after a hand-back: the take that waited counts.)
    assert.deepEqual(await eventsOf(r.body.id), ['job.queued', 'job.started', 'job.succeeded']);

    // Redis loses its scripts: the next submission still ends as it should.
    await redis.script('FLUSH');
    const again = await stack.submit({ source: { type: 'file', path: file }, target: { type: 'oss', bucket: stack.emu.bucket, key: 'after-flush.mp4' } });
    assert.equal(again.status, 202);
    assert.equal((await stack.waitFor(again.body.id, { timeoutMs: 30_000 })).status, 'succeeded');

    // A lane job older than a minute without a record never gets one: failed at once, not retried.
    const orphan = await small.add(
      QUEUES.ingestSmall,
      { jobId: 'job_0000000000000a0000000000000', tenant: 'acme' },
      { jobId: 'job_0000000000000a0000000000000', attempts: 3, timestamp: Date.now() - 120_000 },
    );
    for (const end = Date.now() + 15_000; (await small.getJobState(orphan.id!)) !== 'failed'; await sleep(20)) {
      assert.ok(Date.now() < end, 'the orphan fails');
    }
    const failed = await small.getJob(orphan.id!);
    assert.match(failed?.failedReason ?? '', /No job record/);
    assert.equal(failed?.attemptsMade, 1);
  } finally {
    await Promise.all(lanes.map((q) => q.resume()));
    await Promise.all(lanes.map((q) => q.close()));
    redis.disconnect();
  }
});

test('jobs canceled as they are submitted: a 200 means canceled and nothing written; a 202 or 409 ends as its object says', async () => {
  if (stack.workers.length === 0) await stack.startWorker();
  const file = path.join(stack.inbox, 'race.mp4');
  await writeRandomFile(file, 64 * 1024);
  const oss = await adminOss(stack.emu, stack.emu.bucket);
  // Forty at once, each DELETEd as soon as it is accepted: some are still queued, some held by a worker, some done.
  const outcomes = await Promise.all(
    Array.from({ length: 40 }, async (_, i) => {
      const key = `race/${i}.mp4`;
      const r = await stack.submit({ source: { type: 'file', path: file }, target: { type: 'oss', bucket: stack.emu.bucket, key } });
      assert.equal(r.status, 202);
      const del = await cancel(r.body.id);
      return { id: r.body.id, key, deleted: del.status };
    }),
  );
  const answers = new Set<number>();
  for (const o of outcomes) {
    answers.add(o.deleted);
    assert.ok([200, 202, 409].includes(o.deleted), String(o.deleted));
    const job = await stack.waitFor(o.id, { timeoutMs: 30_000 });
    const head = await objectState(oss, o.key);
    if (o.deleted === 200) assert.equal(job.status, 'canceled');
    if (o.deleted === 409) assert.equal(job.status, 'succeeded');
    assert.equal(head, job.status === 'succeeded' ? 'written' : 'absent', `${o.id} (DELETE ${o.deleted}) ended ${job.status}`);
  }
  assert.ok(answers.has(200), 'some were canceled while queued');
});
