import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { AppError, createLogger, createRedis, waitForRedis } from '@vod-ingest/shared';
import { freePort, startTestRedis, type TestRedis } from '@vod-ingest/shared/testing';

/** A logger whose JSON lines are kept. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, log: createLogger('test', { destination }) };
}

describe('connecting to Redis at start-up', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startTestRedis();
  });
  after(async () => redis?.stop());

  it('resolves once a reachable Redis is ready', async () => {
    const conn = createRedis(redis.url, { blocking: false });
    try {
      await waitForRedis(conn, redis.url, 5000);
      assert.equal(await conn.ping(), 'PONG');
    } finally {
      conn.disconnect();
    }
  });

  it('gives up after its bound with one line naming the URL without its password, and the error', async () => {
    const port = await freePort();
    const url = `redis://:s3cret-pass@127.0.0.1:${port}`;
    const conn = createRedis(url, { blocking: false });
    const t0 = Date.now();
    try {
      await assert.rejects(waitForRedis(conn, url, 700), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.code, 'REDIS_UNREACHABLE');
        assert.equal(err.message, `cannot reach Redis at redis://127.0.0.1:${port}: ECONNREFUSED`);
        return true;
      });
      assert.ok(Date.now() - t0 < 2000, 'within its bound');
    } finally {
      conn.disconnect();
    }
  });

  it('logs repeated connection errors at a bounded rate, counting the ones it held back', async () => {
    const { lines, log } = capture();
    const conn = createRedis(`redis://127.0.0.1:${await freePort()}`, { log, name: 'flaky', errorLogIntervalMs: 1000 });
    let errors = 0;
    conn.on('error', () => errors++);
    await sleep(2500);
    conn.disconnect();
    const logged = lines.filter((l) => l.msg === 'RedisError');
    assert.ok(logged.length >= 1 && logged.length <= 3, JSON.stringify(logged));
    assert.ok(errors > logged.length, `${errors} errors, ${logged.length} lines`);
    assert.equal(logged[0].code, 'ECONNREFUSED');
    assert.equal(logged[0].connection, 'flaky');
    if (logged.length > 1) assert.ok(Number(logged[1].suppressed) > 0);
  });
});
