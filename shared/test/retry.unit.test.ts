import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError, backoffDelay, retry } from '../src/index.js';

const transient = () => new AppError('UPSTREAM_5XX', 'try again', { retryable: true });

test('backoffDelay doubles from baseMs, stays within ±50% and never exceeds the cap', () => {
  assert.equal(
    backoffDelay(0, 100, 10_000, () => 0.5),
    100,
  );
  assert.equal(
    backoffDelay(3, 100, 10_000, () => 0.5),
    800,
  );
  assert.equal(
    backoffDelay(3, 100, 10_000, () => 0),
    400,
  );
  assert.equal(
    backoffDelay(3, 100, 10_000, () => 1),
    1200,
  );
  // The uploader's worst case the job schema allows: 60 s doubled 9 times is capped.
  for (const r of [0, 0.5, 0.999]) assert.ok(backoffDelay(9, 60_000, 30_000, () => r) <= 30_000);
});

test('retries a retryable error until it succeeds, saying so before each wait', async () => {
  const seen: number[] = [];
  let calls = 0;
  const out = await retry(
    async (attempt) => {
      calls++;
      if (attempt < 3) throw transient();
      return 'ok';
    },
    { baseMs: 1, onRetry: (_err, attempt) => seen.push(attempt) },
  );
  assert.equal(out, 'ok');
  assert.equal(calls, 3);
  assert.deepEqual(seen, [1, 2]);
});

test('gives up after `retries` retries with the last error', async () => {
  let calls = 0;
  const err = transient();
  await assert.rejects(
    retry(
      async () => {
        calls++;
        throw err;
      },
      { retries: 2, baseMs: 1 },
    ),
    (e) => e === err,
  );
  assert.equal(calls, 3);
});

test('an error that is not retryable is thrown at once (a programming error by default)', async () => {
  let calls = 0;
  await assert.rejects(
    retry(async () => {
      calls++;
      throw new TypeError('bug');
    }),
    TypeError,
  );
  assert.equal(calls, 1);
});

test('an aborted signal ends the wait at once and no further attempt starts', async () => {
  const ac = new AbortController();
  let calls = 0;
  const started = Date.now();
  const pending = retry(
    async () => {
      calls++;
      throw transient();
    },
    { baseMs: 60_000, retries: 9, signal: ac.signal, onRetry: () => setImmediate(() => ac.abort()) },
  );
  await assert.rejects(pending, { code: 'UPSTREAM_5XX' });
  assert.equal(calls, 1);
  assert.ok(Date.now() - started < 5000, 'did not sit out the 30 s wait');
});
