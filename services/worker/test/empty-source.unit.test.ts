import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { AppError, createLogger, type ObjectStore } from '@vod-ingest/shared';
import type { CheckpointStore } from '../src/upload/checkpoint.store.js';
import { uploadObject } from '../src/upload/multipart-uploader.js';

test('an empty source (a url that downloaded 0 bytes) fails at once as SOURCE_EMPTY, not retryable, nothing sent', async () => {
  const calls: string[] = [];
  // Every call is recorded; none should happen.
  const store = new Proxy({} as ObjectStore, { get: (_t, name) => async () => void calls.push(String(name)) });
  const checkpoints = new Proxy({} as CheckpointStore, { get: (_t, name) => async () => void calls.push(`checkpoint.${String(name)}`) });
  const log = createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  await assert.rejects(
    uploadObject(
      { store, checkpoints, log },
      { jobId: 'job_empty', key: 'in/empty.mp4', source: { size: 0, read: () => Readable.from([]) }, retryCount: 5, retryDurationMs: 1 },
    ),
    (err: unknown) => err instanceof AppError && err.code === 'SOURCE_EMPTY' && !err.retryable,
  );
  assert.deepEqual(calls, []);
});
