import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Credential } from '@vod-ingest/shared';
import {
  startEmulator,
  startTestRedis,
  startTokenService,
  writeTenantsFile,
  type TestEmulator,
  type TestRedis,
  type TestService,
} from '@vod-ingest/shared/testing';
import { getCredential, ossWith, sumMetric } from './helpers.js';

type Token = TestService & { secret: string };
const TENANTS = ['acme', 'globex', 'initech'] as const;

/** acme and globex own disjoint prefixes of the emulator's bucket; initech uses VOD only. */
function tenantsFile(bucket: string): string {
  return writeTenantsFile({
    acme: { oss: [{ bucket, prefix: 'acme/' }], vod: true },
    globex: { oss: [{ bucket, prefix: 'globex/' }] },
    initech: { vod: true },
  });
}

async function startReplicas(emu: TestEmulator, redis: TestRedis): Promise<Token[]> {
  const secret = `svc-${randomBytes(16).toString('hex')}`;
  const env = { TENANTS_FILE: tenantsFile(emu.bucket) };
  return Promise.all([1, 2, 3, 4].map(() => startTokenService({ emulator: emu, redisUrl: redis.url, secret, env })));
}

/** Writes one small object with the credential: undefined when OSS accepted it, else the error code. */
async function putWith(emu: TestEmulator, c: Credential, key: string): Promise<string | undefined> {
  const oss = ossWith(emu, c);
  try {
    await oss.put(key, Buffer.from('probe'));
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? 'ERROR';
  }
}

describe('tenant-scoped credentials across four replicas', () => {
  let emu: TestEmulator;
  let redis: TestRedis;
  let replicas: Token[] = [];
  before(async () => {
    [emu, redis] = await Promise.all([startEmulator(), startTestRedis()]);
    replicas = await startReplicas(emu, redis);
    await emu.resetStats();
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await Promise.all([emu?.stop(), redis?.stop()]);
  });

  test('cold cache, 200 concurrent requests over 3 tenants: exactly 3 AssumeRole, one credential per tenant', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        getCredential(replicas[i % 4], 'client', `?tenant=${TENANTS[i % 3]}`).then((r) => ({ tenant: TENANTS[i % 3], ...r })),
      ),
    );
    assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
    assert.equal((await emu.stats()).requests.AssumeRole, 3, 'one AssumeRole per (profile, tenant)');
    const byTenant = new Map(TENANTS.map((t) => [t, new Set(results.filter((r) => r.tenant === t).map((r) => r.body.accessKeyId))]));
    for (const [t, ids] of byTenant) assert.equal(ids.size, 1, `${t}: everyone got the same credential`);
    assert.equal(new Set([...byTenant.values()].flatMap((s) => [...s])).size, 3, 'each tenant its own credential');
    assert.equal(await sumMetric(replicas, 'sts_assume_role_total', { profile: 'client', outcome: 'success' }), 3);
  });

  test("each credential reaches its tenant's prefix only; unscoped and other profiles stay apart", async () => {
    const acme = (await getCredential(replicas[0], 'ingest', '?tenant=acme')).body;
    const globex = (await getCredential(replicas[1], 'ingest', '?tenant=globex')).body;
    const initech = (await getCredential(replicas[2], 'ingest', '?tenant=initech')).body;
    assert.equal(await putWith(emu, acme, 'acme/in.bin'), undefined);
    assert.equal(await putWith(emu, acme, 'globex/in.bin'), 'AccessDenied');
    assert.equal(await putWith(emu, acme, 'acme-other/in.bin'), 'AccessDenied');
    assert.equal(await putWith(emu, globex, 'globex/in.bin'), undefined);
    assert.equal(await putWith(emu, globex, 'acme/in.bin'), 'AccessDenied');
    assert.equal(await putWith(emu, initech, 'initech/in.bin'), 'AccessDenied', 'a VOD-only tenant writes no OSS object');
    // A tenant the file does not name (an API_KEYS-only tenant) gets VOD only, never the role's full rights.
    const stranger = await getCredential(replicas[3], 'ingest', '?tenant=stranger');
    assert.equal(stranger.status, 200);
    assert.equal(await putWith(emu, stranger.body, 'acme/x.bin'), 'AccessDenied');
  });

  test('a malformed tenant is a 400; a tenant in the profile segment is refused', async () => {
    assert.equal((await getCredential(replicas[0], 'client', '?tenant=..%2Fx')).status, 400);
    assert.equal((await getCredential(replicas[0], 'client', '?tenant=a%20b')).status, 400);
    assert.equal((await getCredential(replicas[0], 'client%2Facme')).status, 400);
  });
});

describe('short tokens, 3 tenants × 2 profiles, 4 replicas', () => {
  const TTL_SECONDS = 15;
  let emu: TestEmulator;
  let redis: TestRedis;
  let replicas: Token[] = [];
  before(async () => {
    [emu, redis] = await Promise.all([startEmulator({ tokenTtlSeconds: TTL_SECONDS }), startTestRedis()]);
    replicas = await startReplicas(emu, redis);
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await Promise.all([emu?.stop(), redis?.stop()]);
  });

  test('3+ refresh cycles: one AssumeRole per (profile, tenant) per cycle', { timeout: 120_000 }, async () => {
    const keys = ['ingest', 'client'].flatMap((profile) => TENANTS.map((tenant) => ({ profile, tenant })));
    const seen = new Map(keys.map((k) => [`${k.profile}/${k.tenant}`, new Set<string>()]));
    const problems: string[] = [];
    // A credential is refreshed ahead at half its life: a new one about every TTL/2.
    const end = Date.now() + 2.3 * TTL_SECONDS * 1000;
    await Promise.all(
      keys.map(async (k, i) => {
        while (Date.now() < end) {
          const r = await getCredential(replicas[i % 4], k.profile, `?tenant=${k.tenant}`);
          if (r.status !== 200) problems.push(`${k.profile}/${k.tenant}: HTTP ${r.status}`);
          else seen.get(`${k.profile}/${k.tenant}`)!.add(r.body.accessKeyId);
          await new Promise((res) => setTimeout(res, 150));
        }
      }),
    );
    assert.deepEqual(problems, []);
    const distinct = [...seen.values()].reduce((n, s) => n + s.size, 0);
    for (const [key, ids] of seen) assert.ok(ids.size >= 4, `${key}: at least 3 refreshes after the first (saw ${ids.size} credentials)`);
    const calls = (await emu.stats()).requests.AssumeRole;
    // Every AssumeRole gave a credential that was served, except perhaps one last refresh per key just before the end.
    assert.ok(calls >= distinct && calls <= distinct + keys.length, `${calls} AssumeRole calls for ${distinct} credentials served over ${keys.length} keys`);
  });
});
