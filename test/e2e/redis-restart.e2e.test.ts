import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventSeq, isTerminalEvent } from '@vod-ingest/shared';
import { startStack, writeRandomFile, type Stack } from './stack.js';

const MiB = 1024 * 1024;
let stack: Stack;
before(async () => {
  stack = await startStack({ workers: 2, redis: { appendOnly: true }, apiEnv: { JOB_BACKOFF_SECONDS: '1' } });
});
after(() => stack?.stop());

test('Redis (AOF) restarted during 100 jobs: all succeed, none twice, no event lost', async () => {
  const small = path.join(stack.inbox, 'small.mp4');
  const multi = path.join(stack.inbox, 'multi.mp4');
  await writeRandomFile(small, 64 * 1024);
  await writeRandomFile(multi, 2 * MiB);
  await stack.emu.addFaults([{ action: '*', rate: 1, latencyMs: 20 }]);
  await stack.emu.resetStats();
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) {
    const r = await stack.submit({
      source: { type: 'file', path: i % 2 ? multi : small },
      target: { type: 'oss', bucket: stack.emu.bucket, key: `restart/${i}.mp4` },
      upload: { partSize: 512 * 1024, parallel: 2 },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    ids.push(r.body.id);
  }
  // Restart once a fifth of the jobs are done, while the rest are queued or running.
  const deadline = Date.now() + 60_000;
  while ((await stack.streamEvents()).filter((e) => e.type === 'job.succeeded').length < 20 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  await stack.redis.restart();

  const jobs = await Promise.all(ids.map((id) => stack.waitFor(id, { timeoutMs: 240_000 })));
  await stack.emu.clearFaults();
  for (const job of jobs) assert.equal(job.status, 'succeeded', `${job.id}: ${JSON.stringify(job.error)}`);

  const events = await stack.streamEvents();
  for (const id of ids) {
    const mine = events.filter((e) => e.jobId === id);
    assert.deepEqual(
      mine.map(eventSeq),
      mine.map((_, i) => i + 1),
      `${id}: events in order, none missing`,
    );
    assert.equal(mine[0].type, 'job.queued');
    assert.deepEqual(
      mine.filter(isTerminalEvent).map((e) => e.type),
      ['job.succeeded'],
      `${id}: one terminal event`,
    );
  }
  const stats = await stack.emu.stats();
  // Each object written once: 50 single PUTs and 50 completed multipart uploads.
  assert.equal(stats.requests.PutObject, 50);
  assert.equal(stats.requests.CompleteMultipartUpload, 50);
});
