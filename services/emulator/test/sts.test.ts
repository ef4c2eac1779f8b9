import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type TestEmulator } from '@vod-ingest/shared/testing';
import { assumeRole, callVod } from './sdk.js';

type PopErr = { code?: string; statusCode?: number; name?: string };
const is = (code: string, statusCode?: number) => (e: unknown) => {
  const err = e as PopErr;
  assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${(e as Error).message}`);
  if (statusCode !== undefined) assert.equal(err.statusCode, statusCode);
  return true;
};

let emu: TestEmulator;
let capped: TestEmulator;
before(async () => {
  [emu, capped] = await Promise.all([startEmulator(), startEmulator({ tokenTtlSeconds: 2 })]);
});
after(async () => {
  await Promise.all([emu?.stop(), capped?.stop()]);
});

describe('AssumeRole through @alicloud/sts20150401', () => {
  for (const signatureAlgorithm of [undefined, 'v2'] as const) {
    test(`works with ${signatureAlgorithm ?? 'ACS3-HMAC-SHA256'} signing; Expiration is now + DurationSeconds`, async () => {
      const before = Date.now();
      const c = await assumeRole(emu, { durationSeconds: 1800 }, { signatureAlgorithm });
      assert.match(c.accessKeyId, /^STS\./);
      assert.ok(c.accessKeySecret.length >= 16 && c.securityToken.length > 32);
      assert.match(c.expiration, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const exp = Date.parse(c.expiration);
      assert.ok(Math.abs(exp - (before + 1800_000)) < 5000, `expiration ${c.expiration} is ~30 min ahead`);
    });
  }

  test('EMULATOR_TOKEN_TTL_SECONDS caps the lifetime, and the token then expires', async () => {
    const c = await assumeRole(capped, { durationSeconds: 3600 });
    const left = Date.parse(c.expiration) - Date.now();
    assert.ok(left <= 2000 && left > -1000, `capped to ~2 s, got ${left} ms`);
    // An STS credential can call STS (role chaining) while valid, and not after.
    await assumeRole(capped, {}, { accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: c.securityToken });
    await new Promise((r) => setTimeout(r, 2600));
    await assert.rejects(
      assumeRole(capped, {}, { accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: c.securityToken }),
      is('InvalidSecurityToken.Expired', 403),
    );
  });

  test('out-of-range DurationSeconds, bad RoleSessionName, bad RoleArn and bad Policy give the STS codes', async () => {
    for (const durationSeconds of [899, 3601]) {
      await assert.rejects(assumeRole(emu, { durationSeconds }), is('InvalidParameter.DurationSeconds', 400));
    }
    for (const roleSessionName of ['a', 'has space', 'x'.repeat(65), 'semi;colon']) {
      await assert.rejects(assumeRole(emu, { roleSessionName }), is('InvalidParameter.RoleSessionName', 400));
    }
    await assert.rejects(assumeRole(emu, { roleArn: 'arn:aws:iam::1:role/x' }), is('InvalidParameter.RoleArn', 400));
    await assert.rejects(assumeRole(emu, { policy: '{not json' }), is('InvalidParameter.PolicyGrammar', 400));
    await assert.rejects(
      assumeRole(emu, { policy: JSON.stringify({ Version: '1', Statement: [], pad: 'x'.repeat(2100) }) }),
      is('InvalidParameter.PolicyGrammar', 400),
    );
    const ok = await assumeRole(emu, { policy: JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'oss:*', Resource: '*' }] }) });
    assert.match(ok.accessKeyId, /^STS\./);
  });
});

describe('wrong use of POP APIs fails as on the cloud', () => {
  for (const signatureAlgorithm of [undefined, 'v2'] as const) {
    test(`wrong secret → SignatureDoesNotMatch (403 JSON), ${signatureAlgorithm ?? 'ACS3'}`, async () => {
      await assert.rejects(assumeRole(emu, {}, { accessKeySecret: 'wrong-secret-value', signatureAlgorithm }), is('SignatureDoesNotMatch', 403));
    });
  }

  test('unknown key → InvalidAccessKeyId.NotFound', async () => {
    await assert.rejects(assumeRole(emu, {}, { accessKeyId: 'LTAI5tUnknownKey0000' }), is('InvalidAccessKeyId.NotFound', 404));
  });

  test('a tampered or foreign security token is rejected', async () => {
    const c = await assumeRole(emu);
    const other = await assumeRole(emu);
    const tampered = `${c.securityToken.slice(0, 10)}${c.securityToken[10] === 'A' ? 'B' : 'A'}${c.securityToken.slice(11)}`;
    await assert.rejects(
      callVod(emu, 'GetVideoInfo', { VideoId: 'x' }, { accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: tampered }),
      is('InvalidSecurityToken.Malformed', 400),
    );
    await assert.rejects(
      callVod(emu, 'GetVideoInfo', { VideoId: 'x' }, { accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: other.securityToken }),
      is('InvalidSecurityToken.MismatchWithAccessKey', 400),
    );
  });

  test('error bodies are POP JSON with RequestId, HostId, Code, Message, Recommend', async () => {
    const res = await fetch(
      `${emu.url}/?Action=AssumeRole&Version=2015-04-01&AccessKeyId=${emu.accessKeyId}&Signature=bogus&Timestamp=${new Date().toISOString()}&SignatureNonce=n1`,
      { method: 'POST' },
    );
    assert.equal(res.status, 403);
    const body = (await res.json()) as Record<string, string>;
    assert.equal(body.Code, 'SignatureDoesNotMatch');
    for (const k of ['RequestId', 'HostId', 'Message', 'Recommend']) assert.ok(body[k], `${k} present`);
  });
});
