import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileDigest, objectDigest, startStack, videoInfo, writeRandomFile, type Stack } from './stack.js';

const MiB = 1024 * 1024;
let stack: Stack;
let file: string;
let digest: string;
before(async () => {
  stack = await startStack({ workers: 1 });
  file = path.join(stack.inbox, 'clip-300.mp4');
  await writeRandomFile(file, 300 * MiB);
  digest = await fileDigest(file);
});
after(() => stack?.stop());

test('300 MiB to a vod target: bytes equal, result complete, GetVideoInfo says UploadSucc', async () => {
  const r = await stack.submit({
    source: { type: 'file', path: file },
    target: { type: 'vod', title: 'Clip 300' },
    upload: { partSize: 8 * MiB, parallel: 5 },
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const job = await stack.waitFor(r.body.id, { timeoutMs: 300_000 });
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  const res = job.result!;
  assert.match(res.videoId ?? '', /^[0-9a-f]{32}$/);
  assert.equal(res.size, 300 * MiB);
  assert.match(res.etag, /^"[0-9A-F]{32}-38"$/);
  assert.match(res.crc64, /^\d+$/);
  assert.equal(res.key.endsWith('.mp4'), true);
  assert.equal(await objectDigest(stack.emu, res.bucket, res.key), digest);
  assert.equal((await videoInfo(stack, res.videoId!)).status, 'UploadSucc');
  assert.deepEqual(job.progress, { bytesUploaded: 300 * MiB, bytesTotal: 300 * MiB, partsUploaded: 38, partsTotal: 38 });
});

test('300 MiB to an oss target: bytes equal, result complete, no VOD video', async () => {
  const key = 'media/clip-300.bin';
  const r = await stack.submit({ source: { type: 'file', path: file }, target: { type: 'oss', bucket: stack.emu.bucket, key, contentType: 'video/mp4' } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const job = await stack.waitFor(r.body.id, { timeoutMs: 300_000 });
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.deepEqual(Object.keys(job.result!).sort(), ['bucket', 'crc64', 'etag', 'key', 'size']);
  assert.equal(job.result!.bucket, stack.emu.bucket);
  assert.equal(job.result!.key, key);
  assert.equal(job.result!.size, 300 * MiB);
  assert.equal(await objectDigest(stack.emu, stack.emu.bucket, key), digest);
});
