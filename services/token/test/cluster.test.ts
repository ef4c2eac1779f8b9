import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createRedis, type Credential } from '@vod-ingest/shared';
import { startEmulator, startTestRedis, startTokenService, type TestEmulator, type TestRedis, type TestService } from '@vod-ingest/shared/testing';
import { getCredential, rejectionOf, sumMetric } from './helpers.js';

type Token = TestService & { secret: string };
let emu: TestEmulator;
let redis: TestRedis;
let replicas: Token[] = [];
const secret = `svc-${randomBytes(16).toString('hex')}`;
const served: Credential[] = [];

before(async () => {
  [emu, redis] = await Promise.all([startEmulator(), startTestRedis()]);
  replicas = await Promise.all([1, 2, 3, 4].map(() => startTokenService({ emulator: emu, redisUrl: redis.url, secret })));
  await emu.resetStats();
});
after(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all([emu?.stop(), redis?.stop()]);
});

describe('four token-service replicas on one Redis', () => {
  test('cold cache, 200 concurrent requests: exactly one AssumeRole, everyone gets the same valid credential', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => getCredential(replicas[i % 4])));
    assert.ok(
      results.every((r) => r.status === 200),
      `all 200: ${[...new Set(results.map((r) => r.status))]}`,
    );
    const ids = new Set(results.map((r) => r.body.accessKeyId));
    assert.equal(ids.size, 1, 'one credential for everyone');
    assert.equal((await emu.stats()).requests.AssumeRole, 1, 'exactly one AssumeRole');
    assert.equal(results[0].headers.get('cache-control'), 'no-store');
    const c = results[0].body;
    for (const k of ['accessKeyId', 'accessKeySecret', 'securityToken', 'expiration', 'region'] as const) assert.ok(c[k], `${k} present`);
    assert.equal(await rejectionOf(emu, c), undefined, 'the credential works against OSS');
    served.push(c);
    assert.equal(await sumMetric(replicas, 'sts_assume_role_total', { profile: 'ingest', outcome: 'success' }), 1);
    assert.equal((await sumMetric(replicas, 'token_cache_hits_total')) + (await sumMetric(replicas, 'token_cache_misses_total')), 200);
  });

  test('the client profile is a separate role and cache entry', async () => {
    const a = await getCredential(replicas[0], 'client');
    const b = await getCredential(replicas[3], 'client');
    assert.equal(a.status, 200);
    assert.equal(a.body.accessKeyId, b.body.accessKeyId);
    assert.notEqual(a.body.accessKeyId, served[0].accessKeyId);
    served.push(a.body);
  });

  test('a credential reported as rejected is replaced, once, for every replica', async () => {
    const old = served[0];
    const [r1, r2] = await Promise.all([
      getCredential(replicas[1], 'ingest', `?rejected=${old.accessKeyId}`),
      getCredential(replicas[2], 'ingest', `?rejected=${old.accessKeyId}`),
    ]);
    assert.notEqual(r1.body.accessKeyId, old.accessKeyId);
    assert.equal(r1.body.accessKeyId, r2.body.accessKeyId, 'both callers get the same replacement');
    assert.equal((await getCredential(replicas[3])).body.accessKeyId, r1.body.accessKeyId);
    assert.equal((await emu.stats()).requests.AssumeRole, 3, 'ingest twice, client once');
    served.push(r1.body);
  });

  test('internal API: no or wrong secret → 401, unknown profile → 404, bad query → 400', async () => {
    const none = await fetch(`${replicas[0].url}/v1/credentials/ingest`);
    assert.equal(none.status, 401);
    const wrong = await fetch(`${replicas[0].url}/v1/credentials/ingest`, { headers: { authorization: `Bearer ${secret}x` } });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    assert.equal((await getCredential(replicas[0], 'admin')).status, 404);
    assert.equal((await getCredential(replicas[0], 'ingest', '?rejected=%20bad%20')).status, 400);
  });

  test('raw Redis holds no plaintext secret with TOKEN_CACHE_KEY set', async () => {
    const client = createRedis(redis.url, { blocking: false });
    try {
      const keys = await client.keys('*');
      assert.ok(
        keys.some((k) => k.endsWith(':sts:ingest')),
        `cache keys exist: ${keys}`,
      );
      const values = await Promise.all(keys.map(async (k) => ((await client.type(k)) === 'string' ? client.get(k) : '')));
      const dump = keys.join('\n') + values.join('\n');
      for (const c of served) {
        assert.ok(!dump.includes(c.accessKeySecret), 'no AccessKeySecret in Redis');
        assert.ok(!dump.includes(c.securityToken), 'no SecurityToken in Redis');
      }
      assert.ok(!dump.includes(emu.accessKeySecret), 'no long-term secret in Redis');
    } finally {
      client.disconnect();
    }
  });

  test('without TOKEN_CACHE_KEY the same scan finds the plaintext (the check above can fail)', async () => {
    const plain = await startTokenService({ emulator: emu, redisUrl: redis.url, cacheKey: null, keyPrefix: '{plain}' });
    const client = createRedis(redis.url, { blocking: false });
    try {
      const c = (await getCredential(plain)).body;
      const raw = (await client.get('{plain}:sts:ingest')) ?? '';
      assert.ok(raw.includes(c.securityToken));
      assert.match(plain.proc.output(), /TokenCacheUnencrypted/);
    } finally {
      client.disconnect();
      await plain.stop();
    }
  });

  test('metrics: AssumeRole calls and duration, cache hits/misses, seconds to expiry, HTTP duration by route and status', async () => {
    const text = await (await fetch(`${replicas[0].url}/metrics`)).text();
    for (const series of [
      'sts_assume_role_total{',
      'sts_assume_role_duration_seconds_bucket{',
      'token_cache_hits_total{',
      'token_cache_misses_total{',
      'sts_credential_expiry_seconds{',
      'http_request_duration_seconds_bucket{',
      'process_resident_memory_bytes',
    ]) {
      assert.ok(text.includes(series), `${series} exported`);
    }
    assert.match(text, /http_request_duration_seconds_count\{[^}]*route="\/v1\/credentials\/:profile"[^}]*status="200"/);
    assert.match(text, /http_request_duration_seconds_count\{[^}]*status="401"/);
    const expiry = /sts_credential_expiry_seconds\{[^}]*profile="ingest"[^}]*\} ([\d.]+)/.exec(text);
    assert.ok(expiry && Number(expiry[1]) > 3000, 'about an hour left on the ingest credential');
  });

  test("secrets never appear in any replica's logs", () => {
    const logs = replicas.map((r) => r.proc.output()).join('\n');
    assert.match(logs, /CredentialRefreshed/, 'the logs are captured');
    for (const s of [emu.accessKeySecret, secret, ...served.flatMap((c) => [c.accessKeySecret, c.securityToken])]) {
      assert.ok(!logs.includes(s), 'a secret leaked into the logs');
    }
  });
});
