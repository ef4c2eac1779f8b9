import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startEmulator, startTestRedis, startTokenService, type TestEmulator, type TestRedis, type TestService } from '@vod-ingest/shared/testing';
import { getCredential, rejectionOf, sumMetric } from './helpers.js';

let emu: TestEmulator;
let redis: TestRedis;
let replicas: Array<TestService & { secret: string }> = [];

before(async () => {
  [emu, redis] = await Promise.all([startEmulator({ tokenTtlSeconds: 20 }), startTestRedis()]);
  const secret = `svc-${randomBytes(16).toString('hex')}`;
  replicas = await Promise.all([1, 2].map(() => startTokenService({ emulator: emu, redisUrl: redis.url, secret })));
});
after(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all([emu?.stop(), redis?.stop()]);
});

test('AssumeRole throttled: the valid cached token is still served; with none valid 503 + Retry-After; recovery without a restart', {
  timeout: 90_000,
}, async () => {
  const warm = await getCredential(replicas[0]);
  assert.equal(warm.status, 200);
  const t0 = Date.now();
  const pids = replicas.map((r) => r.proc.pid);
  await emu.addFaults([
    { action: 'AssumeRole', status: 400, code: 'Throttling.User', message: 'Request was denied due to user flow control.', retryAfterSeconds: 1 },
  ]);

  // Until the cached credential is within its safety margin (3 s of 20 s), it keeps being served.
  let first503: Awaited<ReturnType<typeof getCredential>> | undefined;
  let served = 0;
  for (let i = 0; Date.now() - t0 < 30_000; i++) {
    const r = await getCredential(replicas[i % 2]);
    if (r.status === 503) {
      first503 = r;
      break;
    }
    assert.equal(
      r.status,
      200,
      `${JSON.stringify(r.body)}\n${replicas
        .map((x) => x.proc.output())
        .join('\n')
        .slice(-3000)}`,
    );
    assert.equal(r.body.accessKeyId, warm.body.accessKeyId, 'the cached credential, while STS refuses');
    assert.equal(await rejectionOf(emu, r.body), undefined, 'and it still works');
    served++;
    await new Promise((res) => setTimeout(res, 250));
  }
  const at = (Date.now() - t0) / 1000;
  assert.ok(first503, 'a 503 once nothing valid is left');
  assert.ok(at > 14, `the cached credential was served until its safety margin (503 after ${at.toFixed(1)} s)`);
  assert.ok(served > 40);
  assert.equal(first503.body.error?.code, 'CREDENTIALS_UNAVAILABLE');
  assert.ok(Number(first503.headers.get('retry-after')) >= 1, 'Retry-After');
  const throttled = await sumMetric(replicas, 'sts_assume_role_total', { outcome: 'throttled' });
  assert.ok(throttled > 0, 'throttled calls are counted');
  assert.ok((await emu.stats()).requests.AssumeRole < 40, 'STS is not hammered while it throttles (shared cool-down)');

  await emu.clearFaults();
  const recovery = Date.now();
  let fresh: Awaited<ReturnType<typeof getCredential>> | undefined;
  while (Date.now() - recovery < 10_000) {
    const r = await getCredential(replicas[1]);
    if (r.status === 200) {
      fresh = r;
      break;
    }
    await new Promise((res) => setTimeout(res, 250));
  }
  assert.ok(fresh, 'recovers within seconds once STS answers again');
  assert.notEqual(fresh.body.accessKeyId, warm.body.accessKeyId);
  assert.equal(await rejectionOf(emu, fresh.body), undefined);
  assert.deepEqual(
    replicas.map((r) => r.proc.pid),
    pids,
    'same processes: no restart',
  );
  assert.equal((await getCredential(replicas[0])).body.accessKeyId, fresh.body.accessKeyId);
});
