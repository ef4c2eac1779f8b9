import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventSeq, isTerminalEvent, type JobEvent } from '@vod-ingest/shared';
import { KEYS, startStack, until, writeRandomFile, type Stack } from './stack.js';
import { startReceiver, type Receiver } from './webhook-receiver.js';

const MiB = 1024 * 1024;
let stack: Stack;
let everything: Receiver;
let callback: Receiver;
before(async () => {
  stack = await startStack({ workers: 0 });
  everything = await startReceiver(stack.webhookSecret);
  callback = await startReceiver(stack.webhookSecret);
  await stack.startWorker({ WEBHOOK_URLS: everything.url, WEBHOOK_RETRY_SCHEDULE_MS: '200,400,800', PROGRESS_INTERVAL_SECONDS: '0.2' });
});
after(async () => {
  await stack?.stop();
  await everything?.close();
  await callback?.close();
});

/** Reads a job's SSE stream until it ends, as a browser's EventSource would see it. */
async function sse(id: string): Promise<JobEvent[]> {
  const res = await fetch(`${stack.api.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${KEYS.acme}`, accept: 'text/event-stream' } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const text = await res.text();
  return text
    .split('\n\n')
    .map((block) => block.split('\n').find((l) => l.startsWith('data: ')))
    .filter((l): l is string => Boolean(l))
    .map((l) => JSON.parse(l.slice(6)) as JobEvent);
}

test("every job's events arrive in order, once, with one terminal event: on the stream, over SSE and over signed webhooks", async () => {
  const file = path.join(stack.inbox, 'events.mp4');
  await writeRandomFile(file, 6 * MiB);
  await stack.emu.addFaults([{ action: 'UploadPart', rate: 1, latencyMs: 100 }]);
  callback.failNext(3, 500);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await stack.submit({
      source: { type: 'file', path: file },
      target: { type: 'oss', bucket: stack.emu.bucket, key: `events/${i}.mp4` },
      upload: { partSize: 512 * 1024, parallel: 2 },
      ...(i === 0 ? { callbackUrl: callback.url } : {}),
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    ids.push(r.body.id);
  }
  const viaSse = await Promise.all(ids.map(sse));
  await Promise.all(ids.map((id) => stack.waitFor(id)));
  await stack.emu.clearFaults();
  const stream = await stack.streamEvents();
  await until(() => ids.every((id) => everything.events.some((e) => e.jobId === id && isTerminalEvent(e))));
  await until(() => callback.events.some(isTerminalEvent));

  for (const [i, id] of ids.entries()) {
    const onStream = stream.filter((e) => e.jobId === id);
    assert.deepEqual(
      onStream.map(eventSeq),
      onStream.map((_, n) => n + 1),
      'stream: in order, none missing',
    );
    assert.deepEqual(
      onStream.map((e) => e.type).filter((t) => t !== 'job.progress'),
      ['job.queued', 'job.started', 'job.succeeded'],
    );
    assert.ok(
      onStream.some((e) => e.type === 'job.progress'),
      'progress events are emitted',
    );
    for (const e of onStream) assert.deepEqual(Object.keys(e).sort(), ['createdAt', 'data', 'id', 'jobId', 'tenant', 'type']);

    assert.deepEqual(viaSse[i], onStream, 'SSE: the same events in the same order, ending with the terminal one');
    assert.deepEqual(
      everything.events.filter((e) => e.jobId === id),
      onStream,
      'WEBHOOK_URLS: every event once, in order',
    );
  }
  assert.deepEqual(
    callback.events,
    stream.filter((e) => e.jobId === ids[0]),
    "callbackUrl: its job's events only, once, in order",
  );
  assert.equal(callback.failed, 3, 'the callback answered 500 three times and still got everything');
  assert.equal(everything.rejected + callback.rejected, 0, 'every signature verified');
});
