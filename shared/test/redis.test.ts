import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createRedis } from '../src/redis.js';
import { startTestRedis, type TestRedis } from '../src/testing/redis.js';

let redis: TestRedis;
before(async () => {
  redis = await startTestRedis({ appendOnly: true });
});
after(async () => {
  await redis?.stop();
});

test('the test helper gives a real, isolated Redis', async () => {
  assert.ok(['container', 'binary', 'external'].includes(redis.kind));
  const client = createRedis(redis.url, { blocking: false });
  try {
    assert.equal(await client.ping(), 'PONG');
    assert.notEqual(redis.url, 'redis://127.0.0.1:6379', 'not the machine-wide Redis');
  } finally {
    client.disconnect();
  }
});

test('a BullMQ-style connection rides out a Redis restart, and AOF keeps the data', async (t) => {
  if (redis.kind === 'external') return t.skip('cannot restart an external Redis');
  const client = createRedis(redis.url);
  try {
    await client.set('survives', 'yes');
    await new Promise((r) => setTimeout(r, 1200)); // appendfsync everysec
    await redis.restart();
    assert.equal(await client.get('survives'), 'yes', 'command waits for the reconnect instead of failing');
  } finally {
    client.disconnect();
  }
});
