import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileDigest, objectDigest, startStack, writeRandomFile, type Stack } from './stack.js';

const MiB = 1024 * 1024;
const TTL = 15;
let stack: Stack;
before(async () => {
  stack = await startStack({ workers: 1, emulator: { tokenTtlSeconds: TTL } });
});
after(() => stack?.stop());

test('STS tokens of 15 s and an upload spanning 3+ expiries: succeeds, no part re-sent, RefreshUploadVideo used for vod', async () => {
  const file = path.join(stack.inbox, 'slow-64.mp4');
  await writeRandomFile(file, 64 * MiB);
  const digest = await fileDigest(file);
  // 64 parts of 1 MiB, two at a time, 1.5 s each: about 48 s per job, both jobs at once.
  await stack.emu.addFaults([{ action: 'UploadPart', rate: 1, latencyMs: 1500 }]);
  await stack.emu.resetStats();
  const upload = { partSize: MiB, parallel: 2 };
  const started = Date.now();
  const [vod, oss] = await Promise.all([
    stack.submit({ source: { type: 'file', path: file }, target: { type: 'vod', title: 'Slow' }, upload }),
    stack.submit({ source: { type: 'file', path: file }, target: { type: 'oss', bucket: stack.emu.bucket, key: 'slow/64.bin' }, upload }),
  ]);
  const jobs = await Promise.all([stack.waitFor(vod.body.id, { timeoutMs: 180_000 }), stack.waitFor(oss.body.id, { timeoutMs: 180_000 })]);
  const elapsed = (Date.now() - started) / 1000;
  assert.ok(elapsed >= 3 * TTL, `the uploads took ${elapsed} s, less than 3 token lifetimes`);
  for (const job of jobs) {
    assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
    assert.equal(job.attempts, 1);
    assert.equal(await objectDigest(stack.emu, job.result!.bucket, job.result!.key), digest);
  }
  const stats = await stack.emu.stats();
  assert.equal(stats.partsReplaced, 0);
  assert.ok(stats.requests.UploadPart >= 128);
  assert.ok((stats.requests.RefreshUploadVideo ?? 0) >= 2, `RefreshUploadVideo: ${stats.requests.RefreshUploadVideo}`);
  const metrics = await (await fetch(`${stack.workers[0].url}/metrics`)).text();
  assert.match(metrics, /ingest_credential_refreshes_total\{[^}]*source="vod"[^}]*\} [1-9]/);
});
