import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '@vod-ingest/shared';
import { describeJobFailure } from '../src/ingest/job-failure.js';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

test('a source that changed during the upload fails the job for good, whatever the error was', () => {
  const e = describeJobFailure(withCode('socket hang up', 'ECONNRESET'), false);
  assert.deepEqual(e, { code: 'SOURCE_CHANGED', message: 'The source file disappeared or changed size during the upload', retryable: false });
});

test('our own errors keep their code, message and retryable flag', () => {
  assert.deepEqual(describeJobFailure(new AppError('OSS_THROTTLED', 'slow down', { retryable: true }), true), {
    code: 'OSS_THROTTLED',
    message: 'slow down',
    retryable: true,
  });
  assert.deepEqual(describeJobFailure(new AppError('NoSuchBucket', 'no bucket x', { retryable: false }), true), {
    code: 'NoSuchBucket',
    message: 'no bucket x',
    retryable: false,
  });
});

test('a file that vanished is permanent (SOURCE_NOT_FOUND)', () => {
  const e = describeJobFailure(withCode("ENOENT: no such file, open '/in/a.mp4'", 'ENOENT'), true);
  assert.equal(e.code, 'SOURCE_NOT_FOUND');
  assert.equal(e.retryable, false);
  assert.doesNotMatch(e.message, /\/in\/a\.mp4/);
});

test('network errors are retryable and keep their code', () => {
  for (const code of ['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED']) {
    const e = describeJobFailure(withCode('network', code), true);
    assert.equal(e.retryable, true, code);
    assert.equal(e.code, code);
  }
});

test('programming errors are a permanent INTERNAL_ERROR that says nothing of the bug', () => {
  for (const err of [
    new TypeError("Cannot read properties of undefined (reading 'etag')"),
    new RangeError('bad length'),
    new ReferenceError('x is not defined'),
  ]) {
    const e = describeJobFailure(err, true);
    assert.deepEqual(e, { code: 'INTERNAL_ERROR', message: 'The worker failed unexpectedly; see its logs', retryable: false });
  }
});

test('an unknown error without a code is permanent, not retried forever', () => {
  assert.equal(describeJobFailure(new Error('boom'), true).retryable, false);
  assert.equal(describeJobFailure('a string', true).code, 'INTERNAL_ERROR');
});
