import assert from 'node:assert/strict';
import { truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { KEYS, startStack, type Stack } from './stack.js';

/** A bucket acme may write to that the emulator does not have (OSS answers NoSuchBucket). */
const MISSING_BUCKET = 'vod-ingest-no-such-bucket';

describe('sources and targets the cloud accepts', () => {
  let stack: Stack;
  before(async () => {
    // No worker at first: the "emptied after submission" case empties the file before one runs.
    stack = await startStack({
      workers: 0,
      tenants: (bucket) => ({
        acme: {
          vod: true,
          oss: [
            { bucket, prefix: '' },
            { bucket: MISSING_BUCKET, prefix: '' },
          ],
        },
      }),
    });
  });
  after(async () => stack?.stop());

  const fileJob = (file: string, target: unknown = { type: 'vod', title: 'clip' }) => ({ source: { type: 'file', path: file }, target });

  it('refuses a 0-byte file at submission with 400 SOURCE_EMPTY and records nothing', async () => {
    const file = path.join(stack.inbox, 'empty.mp4');
    writeFileSync(file, '');
    const res = await stack.submit(fileJob(file));
    assert.equal(res.status, 400);
    assert.equal(res.body.error?.code, 'SOURCE_EMPTY');
    const redis = new Redis(stack.redis.url);
    try {
      assert.deepEqual(await redis.keys('*job_*'), [], 'no job record');
      assert.equal(await redis.exists('{vod-ingest}:events'), 0, 'no event');
    } finally {
      redis.disconnect();
    }
    const list = await fetch(`${stack.api.url}/v1/jobs`, { headers: { authorization: `Bearer ${KEYS.acme}` } });
    assert.deepEqual(((await list.json()) as { jobs: unknown[] }).jobs, []);
  });

  it('fails a job whose file became empty after submission, on its first attempt, as SOURCE_EMPTY', async () => {
    const file = path.join(stack.inbox, 'emptied.mp4');
    writeFileSync(file, Buffer.alloc(300 * 1024, 7));
    const res = await stack.submit(fileJob(file));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    truncateSync(file, 0);
    await stack.startWorker();
    const job = await stack.waitFor(res.body.id, { timeoutMs: 30_000 });
    assert.equal(job.status, 'failed');
    assert.equal(job.error?.code, 'SOURCE_EMPTY');
    assert.equal(job.error?.retryable, false);
    assert.equal(job.attempts, 1);
  });

  it('fails a job to a bucket that does not exist on its first attempt, naming the bucket', async () => {
    const file = path.join(stack.inbox, 'full.mp4');
    writeFileSync(file, Buffer.alloc(300 * 1024, 9));
    // One PUT, and a multipart upload (three parts of 100 KiB).
    const ids = await Promise.all(
      [undefined, { partSize: 102_400 }].map(async (upload) => {
        const res = await stack.submit({ ...fileJob(file, { type: 'oss', bucket: MISSING_BUCKET, key: 'in/clip.mp4' }), ...(upload ? { upload } : {}) });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        return res.body.id;
      }),
    );
    for (const id of ids) {
      const job = await stack.waitFor(id, { timeoutMs: 30_000 });
      assert.equal(job.status, 'failed');
      assert.equal(job.attempts, 1);
      assert.equal(job.error?.retryable, false);
      assert.match(job.error?.message ?? '', new RegExp(`"${MISSING_BUCKET}"`), JSON.stringify(job.error));
    }
  });
});
