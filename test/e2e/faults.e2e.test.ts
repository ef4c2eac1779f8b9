import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileDigest, metricSum, objectDigest, startStack, writeRandomFile, type Stack } from './stack.js';

const MiB = 1024 * 1024;
let stack: Stack;
before(async () => {
  stack = await startStack({ workers: 2, workerEnv: { WORKER_CONCURRENCY: '4' }, apiEnv: { JOB_BACKOFF_SECONDS: '1' } });
});
after(() => stack?.stop());

test('20% of UploadPart answered 503 and some connections dropped: 50 jobs all succeed, retries in metrics', async () => {
  const file = path.join(stack.inbox, 'faulty.mp4');
  await writeRandomFile(file, 3 * MiB);
  const digest = await fileDigest(file);
  await stack.emu.addFaults([
    { action: 'UploadPart', rate: 0.2, status: 503, code: 'ServiceUnavailable' },
    { action: 'UploadPart', rate: 0.05, drop: true },
  ]);
  const ids: string[] = [];
  for (let i = 0; i < 50; i++) {
    const r = await stack.submit({
      source: { type: 'file', path: file },
      target: { type: 'oss', bucket: stack.emu.bucket, key: `faulty/${i}.mp4` },
      upload: { partSize: 512 * 1024, parallel: 3, retryDuration: 0.1 },
    });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    ids.push(r.body.id);
  }
  const jobs = await Promise.all(ids.map((id) => stack.waitFor(id, { timeoutMs: 240_000 })));
  await stack.emu.clearFaults();
  for (const job of jobs) assert.equal(job.status, 'succeeded', `${job.id}: ${JSON.stringify(job.error)}`);
  for (const i of [0, 17, 49]) assert.equal(await objectDigest(stack.emu, stack.emu.bucket, `faulty/${i}.mp4`), digest);

  const stats = await stack.emu.stats();
  assert.ok(stats.faults.UploadPart > 0);
  const texts = await Promise.all(stack.workers.map(async (w) => (await fetch(`${w.url}/metrics`)).text()));
  const retries503 = texts.reduce((n, t) => n + metricSum(t, 'ingest_part_retries_total', /reason="ServiceUnavailable"/), 0);
  const retriesNet = texts.reduce((n, t) => n + metricSum(t, 'ingest_part_retries_total', /reason="NETWORK_ERROR"/), 0);
  assert.ok(retries503 > 0, 'the 503s show as retries');
  assert.ok(retriesNet > 0, 'the dropped connections show as retries');
  const succeeded = texts.reduce((n, t) => n + metricSum(t, 'ingest_jobs_total', /outcome="succeeded"/), 0);
  assert.equal(succeeded, 50);
});
