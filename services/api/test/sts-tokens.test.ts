import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createRedis } from '@vod-ingest/shared';
import type { TestService } from '@vod-ingest/shared/testing';
import { clientOss, KEYS, leaked, post, sha256Hex, startApi, startStack, type Stack, type StsTokenReply } from './helpers.js';

const LIMIT = 6;
const WINDOW_SECONDS = 60;

let stack: Stack;
let a: TestService;
let b: TestService;
const issued: StsTokenReply[] = [];
before(async () => {
  stack = await startStack();
  const env = { API_RATE_LIMIT: String(LIMIT), API_RATE_WINDOW_SECONDS: String(WINDOW_SECONDS) };
  const s = { redisUrl: stack.redis.url, emu: stack.emu, tokenUrl: stack.token.url, tokenSecret: stack.token.secret };
  [a, b] = await Promise.all([startApi(s, env), startApi(s, env)]);
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await stack?.stop();
});

/** Fixed windows: start a burst early in one so that it cannot straddle two. */
async function freshWindow(): Promise<void> {
  const left = WINDOW_SECONDS * 1000 - (Date.now() % (WINDOW_SECONDS * 1000));
  if (left < 8000) await new Promise((r) => setTimeout(r, left + 50));
}

describe('POST /v1/sts-tokens', () => {
  test('answers the upload-SDK shape, and ali-oss set up as a client app uploads with it', async () => {
    const res = await post<StsTokenReply>(a, '/v1/sts-tokens', { key: KEYS.acme });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const c = res.body;
    assert.deepEqual(Object.keys(c).sort(), ['AccessKeyId', 'AccessKeySecret', 'Expiration', 'Region', 'SecurityToken']);
    assert.match(c.AccessKeyId, /^STS\./);
    assert.equal(c.Region, stack.emu.region);
    assert.match(c.Expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.ok(Date.parse(c.Expiration) > Date.now() + 60_000, 'valid for a while yet');
    issued.push(c);

    const bytes = randomBytes(300_000);
    const oss = clientOss(c, { endpoint: stack.emu.url, bucket: stack.emu.bucket });
    await oss.put('apps/acme/photo.jpg', bytes);
    const back = await oss.get('apps/acme/photo.jpg');
    assert.ok(Buffer.from(back.content).equals(bytes), 'the bytes read back equal the file');
  });

  test('a key configured in hashed form (tenant:sha256:<hex>) is accepted', async () => {
    const res = await post<StsTokenReply>(b, '/v1/sts-tokens', { key: KEYS.globex });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    issued.push(res.body);
  });

  test('no key, a wrong key, another scheme, or the hash itself → 401 UNAUTHORIZED', async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: `Bearer ${KEYS.acme}x` },
      { authorization: `Bearer ${KEYS.acme.slice(0, -1)}` },
      { authorization: `Basic ${Buffer.from(`acme:${KEYS.acme}`).toString('base64')}` },
      { authorization: `Bearer sha256:${sha256Hex(KEYS.globex)}` },
      { authorization: `Bearer ${sha256Hex(KEYS.globex)}` },
      { authorization: 'Bearer' },
    ];
    for (const headers of attempts) {
      const res = await post(a, '/v1/sts-tokens', { headers });
      assert.equal(res.status, 401, `${JSON.stringify(headers)} → ${res.status}`);
      assert.equal(res.body.error?.code, 'UNAUTHORIZED');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal(res.body.AccessKeyId, undefined);
    }
  });
});

describe('rate limit per API key', () => {
  test('holds across two api replicas: over the limit → 429 RATE_LIMITED with Retry-After; other keys unaffected', async () => {
    await freshWindow();
    for (let i = 0; i < LIMIT; i++) {
      const res = await post(i % 2 ? b : a, '/v1/sts-tokens', { key: KEYS.limited });
      assert.equal(res.status, 200, `request ${i + 1} of ${LIMIT}`);
      assert.equal(res.headers.get('ratelimit-remaining'), String(LIMIT - i - 1));
    }
    for (const api of [a, b]) {
      const res = await post(api, '/v1/sts-tokens', { key: KEYS.limited });
      assert.equal(res.status, 429);
      assert.equal(res.body.error?.code, 'RATE_LIMITED');
      assert.equal(res.body.AccessKeyId, undefined);
      const retryAfter = Number(res.headers.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_SECONDS, `Retry-After ${retryAfter}`);
      assert.ok(Math.abs(retryAfter - (WINDOW_SECONDS - ((Date.now() / 1000) % WINDOW_SECONDS))) <= 2, 'the seconds until the window ends');
    }
    // The upload-auth routes share the key's budget.
    assert.equal((await post(a, '/v1/vod/upload-auth', { key: KEYS.limited, body: { title: 't', fileName: 'a.mp4' } })).status, 429);
    assert.equal((await post(b, '/v1/sts-tokens', { key: KEYS.acme })).status, 200, 'another key has its own budget');
  });

  test('Redis holds counters by key id, never the API key', async () => {
    const redis = createRedis(stack.redis.url, { blocking: false });
    try {
      const keys = await redis.keys('*ratelimit*');
      assert.ok(keys.length >= 2);
      for (const k of keys) {
        assert.match(k, /^\{vod-ingest\}:ratelimit:(credentials|jobs):[0-9a-f]{16}:\d+$/);
        assert.ok((await redis.pttl(k)) > 0, 'expires with its window');
      }
      const all = (await redis.keys('*')).join('\n');
      assert.equal(leaked(all, Object.values(KEYS)), undefined);
    } finally {
      redis.disconnect();
    }
  });
});

describe('operations', () => {
  test('/metrics has http_request_duration_seconds by route pattern and status', async () => {
    const text = await (await fetch(`${a.url}/metrics`)).text();
    const series = (status: string) =>
      text
        .split('\n')
        .find((l) => l.startsWith('http_request_duration_seconds_count{') && l.includes('route="/v1/sts-tokens"') && l.includes(`status="${status}"`));
    assert.ok(series('200'), 'a 200 series for /v1/sts-tokens');
    assert.ok(series('429'), 'a 429 series for /v1/sts-tokens');
    assert.ok(Number(series('200')!.split(' ').pop()) >= 1);
    assert.match(text, /http_request_duration_seconds_bucket\{[^}]*route="\/v1\/sts-tokens"/);
    const health = await fetch(`${a.url}/readyz`);
    assert.equal(health.status, 200);
  });

  test('no API key, token secret or issued credential ever appears in the api output', () => {
    assert.ok(issued.length >= 2);
    const secrets = [...Object.values(KEYS), stack.token.secret, ...issued.flatMap((c) => [c.AccessKeySecret, c.SecurityToken])];
    for (const api of [a, b]) {
      const out = api.proc.output();
      assert.match(out, /"msg":"StsTokenIssued"/, 'the api did log its events');
      assert.equal(leaked(out, secrets), undefined);
    }
  });
});
