import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { callPop, createRedis, type Credential } from '@vod-ingest/shared';
import {
  freePort,
  REPO_ROOT,
  startEmulator,
  startTestRedis,
  TEST_CLIENT_ROLE_ARN,
  type TestEmulator,
  type TestRedis,
  type TestService,
} from '@vod-ingest/shared/testing';
import { KEYS, leaked, post, startApi } from './helpers.js';

/**
 * A stand-in token service whose answers the test scripts: a revoked credential first, or always,
 * and real ones from the emulator's AssumeRole otherwise. It records what it was asked.
 */
class ScriptedTokenService {
  readonly secret = 'scripted-token-service-secret';
  readonly asked: string[] = [];
  /** Credentials to hand out before real ones (each once); `revokedForever` hands out only those. */
  revoked: Credential[] = [];
  revokedForever = false;
  private server?: Server;
  url = '';

  constructor(private readonly emu: TestEmulator) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.asked.push(req.url ?? '');
      if (req.headers.authorization !== `Bearer ${this.secret}`) return void res.writeHead(401).end();
      const next = this.revokedForever ? this.revoked[0] : this.revoked.shift();
      const answer = next ? Promise.resolve(next) : this.assumeRole();
      void answer.then((c) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(c)));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}`;
  }

  private async assumeRole(): Promise<Credential> {
    const { emu } = this;
    const body = await callPop({ endpoint: emu.url, region: emu.region }, emu, '2015-04-01', 'AssumeRole', {
      RoleArn: TEST_CLIENT_ROLE_ARN,
      RoleSessionName: 'scripted',
      DurationSeconds: 3600,
    });
    const c = body.Credentials as { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string; Expiration: string };
    return { accessKeyId: c.AccessKeyId, accessKeySecret: c.AccessKeySecret, securityToken: c.SecurityToken, expiration: c.Expiration, region: emu.region };
  }

  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** A credential the cloud does not know (revoked, or from another account). */
const revokedCredential = (): Credential => ({
  accessKeyId: `LTAI5tRevoked${Date.now()}`,
  accessKeySecret: 'revoked-secret-never-valid',
  securityToken: 'CAISrevoked.token',
  expiration: new Date(Date.now() + 3600_000).toISOString(),
  region: 'cn-shanghai',
});

let emu: TestEmulator;
let redis: TestRedis;
let tokens: ScriptedTokenService;
let api: TestService;
let noRedis: TestService;
let noToken: TestService;
before(async () => {
  [emu, redis] = await Promise.all([startEmulator(), startTestRedis()]);
  tokens = new ScriptedTokenService(emu);
  await tokens.start();
  const base = { redisUrl: redis.url, emu, tokenUrl: tokens.url, tokenSecret: tokens.secret };
  // An api does not start without Redis (it exits, saying so): this one loses its Redis once running.
  const [goneRedis, deadToken] = await Promise.all([startTestRedis(), freePort()]);
  [api, noRedis, noToken] = await Promise.all([
    startApi(base),
    startApi({ ...base, redisUrl: goneRedis.url }),
    startApi({ ...base, tokenUrl: `http://127.0.0.1:${deadToken}` }),
  ]);
  await goneRedis.stop();
});
after(async () => {
  await Promise.all([api?.stop(), noRedis?.stop(), noToken?.stop()]);
  await tokens?.stop();
  await Promise.all([emu?.stop(), redis?.stop()]);
});

describe('credentials refused by the cloud', () => {
  test('a credential VOD refuses is reported to the token service once and the call retried', async () => {
    const revoked = revokedCredential();
    tokens.revoked = [revoked];
    tokens.asked.length = 0;
    const res = await post(api, '/v1/vod/upload-auth', { key: KEYS.acme, body: { title: 'Retry', fileName: 'retry.mov' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(tokens.asked, [
      '/v1/credentials/client?tenant=acme',
      `/v1/credentials/client?tenant=acme&rejected=${encodeURIComponent(revoked.accessKeyId)}`,
    ]);
  });

  test('when the fresh one is refused too: 502 CREDENTIALS_REJECTED, no second retry', async () => {
    tokens.revoked = [revokedCredential()];
    tokens.revokedForever = true;
    tokens.asked.length = 0;
    // A fresh process: `api` holds a good credential in memory by now.
    const fresh = await startApi({ redisUrl: redis.url, emu, tokenUrl: tokens.url, tokenSecret: tokens.secret });
    const before = (await emu.stats()).requests.CreateUploadVideo ?? 0;
    const res = await post(fresh, '/v1/vod/upload-auth', { key: KEYS.acme, body: { title: 'Retry', fileName: 'retry.mov' } });
    await fresh.stop();
    tokens.revokedForever = false;
    tokens.revoked = [];
    assert.equal(res.status, 502);
    assert.equal(res.body.error?.code, 'CREDENTIALS_REJECTED');
    assert.equal(tokens.asked.length, 2);
    assert.equal((await emu.stats()).requests.CreateUploadVideo, before + 2);
  });

  test("VOD's InvalidVideo.NotFound for a video the tenant owns → 404 VIDEO_NOT_FOUND", async () => {
    const videoId = 'a'.repeat(32);
    const r = createRedis(redis.url, { blocking: false });
    await r.set(`{vod-ingest}:vod-video:${videoId}:tenant`, 'acme', 'EX', 60);
    r.disconnect();
    const res = await post(api, `/v1/vod/upload-auth/${videoId}/refresh`, { key: KEYS.acme });
    assert.equal(res.status, 404);
    assert.equal(res.body.error?.code, 'VIDEO_NOT_FOUND');
  });
});

describe('dependencies away', () => {
  test('Redis unreachable: 503 REDIS_UNAVAILABLE with Retry-After (never unlimited), /readyz 503', async () => {
    for (const route of ['/v1/sts-tokens', '/v1/vod/upload-auth']) {
      const t0 = Date.now();
      const res = await post(noRedis, route, { key: KEYS.acme, body: { title: 'x', fileName: 'x.mp4' } });
      assert.equal(res.status, 503, route);
      assert.ok(Date.now() - t0 < 2500, `answered in ${Date.now() - t0} ms, not after ioredis' reconnect attempts`);
      assert.equal(res.body.error?.code, 'REDIS_UNAVAILABLE');
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      assert.equal(res.body.AccessKeyId, undefined);
    }
    const ready = await fetch(`${noRedis.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks.tokenService, 'ok');
    assert.equal((await fetch(`${noRedis.url}/healthz`)).status, 200, 'alive all the same');
  });

  test('token service unreachable: 503 TOKEN_SERVICE_UNAVAILABLE with Retry-After, /readyz 503', async () => {
    const res = await post(noToken, '/v1/sts-tokens', { key: KEYS.acme });
    assert.equal(res.status, 503);
    assert.equal(res.body.error?.code, 'TOKEN_SERVICE_UNAVAILABLE');
    assert.ok(Number(res.headers.get('retry-after')) >= 1);
    assert.equal((await fetch(`${noToken.url}/readyz`)).status, 503);
  });

  test('no secret in any output, even on these paths', () => {
    const secrets = [...Object.values(KEYS), tokens.secret, 'revoked-secret-never-valid', 'CAISrevoked.token'];
    for (const p of [api, noRedis, noToken]) assert.equal(leaked(p.proc.output(), secrets), undefined);
  });
});

test('a bad environment: every problem listed, no key echoed, exit 1', () => {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'services/api/dist/main.js')], {
    env: { PATH: process.env.PATH, API_KEYS: 'acme:plaintext-key-123,no-colon-here,x:sha256:abc,acme2:plaintext-key-123', API_RATE_LIMIT: '0', PORT: 'http' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 1);
  for (const name of ['API_KEYS', 'API_RATE_LIMIT', 'TOKEN_SERVICE_SECRET', 'PORT']) assert.match(r.stderr, new RegExp(`${name}:`));
  assert.match(r.stderr, /entry 2: expected tenant:key/);
  assert.match(r.stderr, /entry 3 \(x\): sha256: must be followed by 64 hex digits/);
  assert.match(r.stderr, /entry 4 \(acme2\): the same key is configured twice/);
  assert.doesNotMatch(r.stderr, /plaintext-key-123|no-colon-here/);
});
