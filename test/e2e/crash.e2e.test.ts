import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileDigest, objectDigest, startStack, videoInfo, writeRandomFile, type Stack } from './stack.js';

const MiB = 1024 * 1024;
let stack: Stack;
before(async () => {
  stack = await startStack({ workers: 1, workerEnv: { JOB_LOCK_SECONDS: '4' } });
});
after(() => stack?.stop());

test('kill -9 of the worker after 30% of the parts: another worker finishes, nothing re-sent, one video', async () => {
  const file = path.join(stack.inbox, 'crash-256.mp4');
  await writeRandomFile(file, 256 * MiB);
  const parts = 32;
  const parallel = 4;
  await stack.emu.addFaults([{ action: 'UploadPart', rate: 1, latencyMs: 250 }]);
  await stack.emu.resetStats();
  const r = await stack.submit({ source: { type: 'file', path: file }, target: { type: 'vod', title: 'Crash' }, upload: { partSize: 8 * MiB, parallel } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const mid = await stack.waitFor(r.body.id, {
    done: (j) => j.progress.partsUploaded >= Math.ceil(parts * 0.3) || (j.status !== 'queued' && j.status !== 'running'),
  });
  assert.equal(mid.status, 'running');
  await stack.workers[0].proc.kill();
  await stack.emu.clearFaults();
  await stack.startWorker();

  const job = await stack.waitFor(r.body.id, { timeoutMs: 120_000 });
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.equal(await objectDigest(stack.emu, job.result!.bucket, job.result!.key), await fileDigest(file));
  const stats = await stack.emu.stats();
  assert.ok(stats.requests.UploadPart <= parts + parallel, `UploadPart calls: ${stats.requests.UploadPart}`);
  assert.ok(stats.partsReplaced <= parallel, `parts re-sent: ${stats.partsReplaced}`);
  assert.equal(stats.requests.CreateUploadVideo, 1);
  const { videos } = await stack.emu.admin<{ videos: unknown[] }>('GET', 'videos');
  assert.equal(videos.length, 1);
  assert.equal((await videoInfo(stack, job.result!.videoId!)).status, 'UploadSucc');
  assert.ok(job.attempts >= 2, `attempts: ${job.attempts}`);
});
