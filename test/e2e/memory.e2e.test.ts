import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startStack, writeRandomFile, type Stack } from './stack.js';

const MiB = 1024 * 1024;
let stack: Stack;
before(async () => {
  // The measured worker runs as in production: under c8 (`npm test`), Node hands NODE_V8_COVERAGE
  // to every child, and collecting coverage adds 2–9 MB to the worker's peak; an empty value
  // turns it off for this one process.
  stack = await startStack({ workers: 1, workerEnv: { NODE_V8_COVERAGE: '' } });
});
after(() => stack?.stop());

/**
 * The worker is fresh: its peak RSS (VmHWM, never reset) covers its start-up, its first request
 * for a credential and the whole upload, not only a warmed-up process's upload.
 */
test('a 2 GiB upload with parallel 5 and 8 MiB parts keeps a fresh worker at or under 120 MB peak RSS', async () => {
  const file = path.join(stack.inbox, 'big-2g.mp4');
  const size = 2048 * MiB;
  await writeRandomFile(file, size);
  const r = await stack.submit({
    source: { type: 'file', path: file },
    target: { type: 'oss', bucket: stack.emu.bucket, key: 'big/2g.mp4' },
    upload: { partSize: 8 * MiB, parallel: 5 },
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const job = await stack.waitFor(r.body.id, { timeoutMs: 600_000 });
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.equal(job.result!.size, size);
  const peak = stack.workers[0].proc.peakRssBytes();
  assert.ok(peak <= 120 * 1e6, `worker peak RSS ${(peak / 1e6).toFixed(0)} MB`);
  console.log(`# worker peak RSS during a 2 GiB upload: ${(peak / 1e6).toFixed(0)} MB`);
});
