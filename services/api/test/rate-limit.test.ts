import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRedis } from '@vod-ingest/shared';
import { startTestRedis, type TestRedis } from '@vod-ingest/shared/testing';
import { ReservedCounter } from '../src/rate-limit.js';

let redis: TestRedis;
before(async () => {
  redis = await startTestRedis();
});
after(async () => {
  await redis?.stop();
});

const endsAt = () => Date.now() + 60_000;

/** Every request of `count` through the counters in turn, concurrently; how many were admitted. */
async function admitted(counters: ReservedCounter[], key: string, limit: number, count: number): Promise<number> {
  const answers = await Promise.all(Array.from({ length: count }, (_, i) => counters[i % counters.length]!.admit(key, 1, limit, endsAt())));
  return answers.filter(Boolean).length;
}

test('two replicas reserving in chunks never admit more than the limit, and refuse early at most (chunk − 1) × replicas; Redis is asked once per chunk', async () => {
  const a = createRedis(redis.url, { blocking: false });
  const b = createRedis(redis.url, { blocking: false });
  try {
    const calls0 = await commandCount(a);
    // 2,000 a window: a chunk is 20 requests.
    const n = await admitted([new ReservedCounter(a), new ReservedCounter(b)], '{t}:rl:big', 2000, 2500);
    assert.ok(n <= 2000, `admitted ${n} of a 2,000 limit`);
    assert.ok(n >= 2000 - 19 * 2, `admitted only ${n}`);
    const calls = (await commandCount(a)) - calls0;
    assert.ok(calls < 2500 / 10, `${calls} Redis commands for 2,500 requests`);
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

test('a limit under 200 is counted request by request: exactly the limit admitted across replicas', async () => {
  const a = createRedis(redis.url, { blocking: false });
  const b = createRedis(redis.url, { blocking: false });
  try {
    assert.equal(await admitted([new ReservedCounter(a), new ReservedCounter(b)], '{t}:rl:small', 7, 20), 7);
    // A new window starts from zero.
    assert.ok(await new ReservedCounter(a).admit('{t}:rl:small:next', 2, 7, endsAt()));
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

async function commandCount(r: ReturnType<typeof createRedis>): Promise<number> {
  const info = await r.info('commandstats');
  return [...info.matchAll(/calls=(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
}
