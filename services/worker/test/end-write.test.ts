import assert from 'node:assert/strict';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { QUEUES } from '@vod-ingest/shared';
import { submitJob } from '../../api/src/job-submission.js';
import { startInProcessWorker, type InProcessWorker } from './in-process-worker.js';

// Issue 11: a small job's end (the record's `succeeded` and `job.succeeded`) and BullMQ's
// completion of the job leave the worker in one write, the end first, so Redis runs them in that
// order: one round trip a job less, and nobody sees the job completed while its record still
// runs. In-process worker (as main.ts builds it), real Redis, emulator and token service.

let w: InProcessWorker;
/** The worker's log lines. */
const lines: string[] = [];
/** Each write(2) the worker's Redis socket made, as text. */
const writes: string[] = [];

before(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  w = await startInProcessWorker({ fileBytes: 4096, workerLog: sink, apiLog: new Writable({ write: (_c, _e, cb) => cb() }) });
  // What leaves the socket: a corked socket hands its writes over together (_writev), else one by one.
  const socket = w.workerConnection.stream as unknown as {
    _write(chunk: Buffer | string, enc: BufferEncoding, cb: () => void): void;
    _writev(chunks: Array<{ chunk: Buffer | string }>, cb: () => void): void;
  };
  const text = (c: Buffer | string) => (typeof c === 'string' ? c : c.toString('latin1'));
  const write = socket._write.bind(socket);
  const writev = socket._writev.bind(socket);
  socket._write = (chunk, enc, cb) => (writes.push(text(chunk)), write(chunk, enc, cb));
  socket._writev = (chunks, cb) => (writes.push(chunks.map((c) => text(c.chunk)).join('')), writev(chunks, cb));
});

after(() => w?.stop());

/** Submits one small job and waits until the worker's BullMQ says it completed; returns its id and its record's status then. */
async function runOne(key: string): Promise<{ id: string; status: string | undefined }> {
  let completed!: (id: string) => void;
  const ids = new Set<string>();
  const seen = new Promise<void>((resolve) => (completed = (id) => ids.has(id) && resolve()));
  const onCompleted = (job: { id?: string }) => completed(job.id ?? '');
  w.service.ingest.worker.on('completed', onCompleted);
  try {
    const { job } = await submitJob(w.submit, 'acme', {
      source: { type: 'file', path: path.join(w.inbox, 'clip.mp4') },
      target: { type: 'oss', bucket: w.emu.bucket, key },
    });
    ids.add(job.id);
    if ((await w.submit.store.get(job.id))?.status !== 'succeeded') await seen;
    return { id: job.id, status: (await w.submit.store.get(job.id))?.status };
  } finally {
    w.service.ingest.worker.off('completed', onCompleted);
  }
}

/** The index of the worker's write that carries the job's end and, after it in that write, BullMQ's completion; -1 when none does. */
const endWithCompletion = (id: string) =>
  writes.findIndex((sent) => {
    const end = sent.indexOf('job.succeeded');
    return end >= 0 && sent.includes(id) && sent.indexOf(`${QUEUES.ingest}:completed`, end) > end;
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
    (await w.submit.store.events(job.id)).map((e) => e.type),
    ['job.queued', 'job.started', 'job.succeeded'],
  );
});

test('an end Redis refused while the completion went through is written again', async () => {
  await runOne('end/warm.mp4');
  // The next end's script call is refused once, as an error reply would be.
  const evalsha = w.workerConnection.evalsha.bind(w.workerConnection) as (...args: unknown[]) => Promise<unknown>;
  let refused = 0;
  (w.workerConnection as unknown as { evalsha: (...args: unknown[]) => Promise<unknown> }).evalsha = (...args: unknown[]) => {
    if (refused === 0 && args.includes('job.succeeded')) {
      refused++;
      return Promise.reject(new Error('ERR refused by the test'));
    }
    return evalsha(...args);
  };
  try {
    const { job } = await submitJob(w.submit, 'acme', {
      source: { type: 'file', path: path.join(w.inbox, 'clip.mp4') },
      target: { type: 'oss', bucket: w.emu.bucket, key: 'end/again.mp4' },
    });
    let status: string | undefined;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && status !== 'succeeded'; await sleep(50))
      status = (await w.submit.store.get(job.id))?.status;
    assert.equal(status, 'succeeded');
    assert.equal(refused, 1);
    assert.ok(lines.some((l) => l.includes('JobEndNotSaved') && l.includes(job.id)));
    assert.deepEqual(
      (await w.submit.store.events(job.id)).map((e) => e.type),
      ['job.queued', 'job.started', 'job.succeeded'],
    );
  } finally {
    delete (w.workerConnection as unknown as { evalsha?: unknown }).evalsha;
  }
});
