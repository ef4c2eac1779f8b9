import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startEmulator, startTestRedis, startTokenService, type TestEmulator, type TestRedis, type TestService } from '@vod-ingest/shared/testing';
import { getCredential, rejectionOf, sumMetric } from './helpers.js';

const TTL_SECONDS = 20;
const RUN_MS = 40_000;
const STS_LATENCY_MS = 1500;

let emu: TestEmulator;
let redis: TestRedis;
let replicas: Array<TestService & { secret: string }> = [];

before(async () => {
  [emu, redis] = await Promise.all([startEmulator({ tokenTtlSeconds: TTL_SECONDS }), startTestRedis()]);
  const secret = `svc-${randomBytes(16).toString('hex')}`;
  replicas = await Promise.all([1, 2, 3, 4].map(() => startTokenService({ emulator: emu, redisUrl: redis.url, secret })));
});
after(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all([emu?.stop(), redis?.stop()]);
});

test(`tokens living ${TTL_SECONDS} s, 4 replicas, 3+ refresh cycles: one AssumeRole per profile per cycle, never an expired credential, warm requests never wait for STS`, {
  timeout: 120_000,
}, async () => {
  const profiles = ['ingest', 'client'];
  for (const p of profiles) assert.equal((await getCredential(replicas[0], p)).status, 200, `warm ${p}`);
  // From now on STS is slow: a request that waited for it would take over 1.5 s.
  await emu.addFaults([{ action: 'AssumeRole', latencyMs: STS_LATENCY_MS }]);

  const seen = new Map<string, Set<string>>(profiles.map((p) => [p, new Set()]));
  const problems: string[] = [];
  let slowest = 0;
  let requests = 0;
  const end = Date.now() + RUN_MS;
  await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const profile = profiles[i % 2];
      while (Date.now() < end) {
        const r = await getCredential(replicas[i % 4], profile);
        requests++;
        slowest = Math.max(slowest, r.ms);
        if (r.status !== 200) problems.push(`${profile}: HTTP ${r.status} ${r.body.error?.code}`);
        else {
          seen.get(profile)!.add(r.body.accessKeyId);
          const rejected = await rejectionOf(emu, r.body);
          if (rejected) problems.push(`${profile}: the emulator rejected a served credential: ${rejected}`);
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    }),
  );

  assert.deepEqual(problems, [], 'every request got a credential the cloud accepts');
  assert.ok(requests > 500, `steady traffic (${requests} requests)`);
  assert.ok(slowest < 1000, `no request waited for STS (slowest ${slowest.toFixed(0)} ms, STS takes ${STS_LATENCY_MS} ms)`);
  let total = 0;
  for (const p of profiles) {
    const distinct = seen.get(p)!.size;
    const calls = await sumMetric(replicas, 'sts_assume_role_total', { profile: p, outcome: 'success' });
    total += calls;
    assert.ok(distinct >= 4, `${p}: at least 3 refresh cycles after the warm one (saw ${distinct} credentials)`);
    // Each AssumeRole produced a credential that was served, but possibly the last one (just refreshed at the end).
    assert.ok(calls - distinct === 0 || calls - distinct === 1, `${p}: ${calls} AssumeRole calls for ${distinct} credentials served — one per cycle`);
  }
  assert.equal((await emu.stats()).requests.AssumeRole, total, 'no AssumeRole beyond those, from any replica');
});
