import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startStack, until, writeRandomFile, type Stack } from './stack.js';
import { startReceiver, type Receiver } from './webhook-receiver.js';

let stack: Stack;
let hooks: Receiver;
before(async () => {
  stack = await startStack({ workers: 0, vodCallbacks: { processingMs: 500 } });
  hooks = await startReceiver(stack.webhookSecret);
  await stack.startWorker({ WEBHOOK_URLS: hooks.url, WEBHOOK_RETRY_SCHEDULE_MS: '200,400,800' });
});
after(async () => {
  await stack?.stop();
  await hooks?.close();
});

test("a vod job's video reaches video.ready from VOD's callbacks: one event, after job.succeeded, on the stream and the webhook", async () => {
  const file = path.join(stack.inbox, 'ready.mp4');
  await writeRandomFile(file, 3 * 1024 * 1024);
  const r = await stack.submit({ source: { type: 'file', path: file }, target: { type: 'vod', title: 'becomes ready' } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const id = r.body.id;
  const job = await stack.waitFor(id, { timeoutMs: 60_000, done: (j) => j.video?.status === 'ready' });
  assert.equal(job.status, 'succeeded');
  const types = async () => (await stack.streamEvents()).filter((e) => e.jobId === id).map((e) => e.type);
  // FileUploadComplete, StreamTranscodeComplete and TranscodeComplete all arrived; one event came of them.
  await until(() => hooks.events.filter((e) => e.jobId === id && e.type === 'video.ready').length === 1, 30_000);
  const seen = await types();
  assert.deepEqual(seen.slice(-2), ['job.succeeded', 'video.ready']);
  assert.equal(seen.filter((t) => t === 'video.ready').length, 1);
  const stats = await stack.emu.stats();
  assert.ok((stats.callbacks.TranscodeComplete?.delivered ?? 0) >= 1, JSON.stringify(stats.callbacks));
  assert.equal(hooks.events.filter((e) => e.jobId === id && e.type === 'video.ready').length, 1, 'the webhook got it once');
});
