import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type TestEmulator } from '@vod-ingest/shared/testing';
import { assumeRole, callVod, ossClient, type StsCredentials } from './sdk.js';

const MEDIA = 'vod-ingest-media';
const OTHER = 'vod-ingest-other';
const UPLOAD_ACME = {
  Effect: 'Allow',
  Action: ['oss:PutObject', 'oss:GetObject', 'oss:AbortMultipartUpload', 'oss:ListParts'],
  Resource: [`acs:oss:*:*:${MEDIA}/acme/*`],
};
const VOD_UPLOAD = { Effect: 'Allow', Action: ['vod:CreateUploadVideo', 'vod:RefreshUploadVideo'], Resource: '*' };
const DENY_SECRET = { Effect: 'Deny', Action: 'oss:*', Resource: `acs:oss:*:*:${MEDIA}/acme/secret/*` };
const policy = (...Statement: object[]) => JSON.stringify({ Version: '1', Statement });

type CloudErr = { code?: string; status?: number; statusCode?: number };
const is = (code: string, status: number) => (e: unknown) => {
  const err = e as CloudErr;
  assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${(e as Error).message}`);
  assert.equal(err.status ?? err.statusCode, status);
  return true;
};
const denied = is('AccessDenied', 403);

let emu: TestEmulator;
let dir: string;
let acme: StsCredentials;
/** The long-term key: full access, to set up and check objects behind the policy's back. */
let admin: (bucket?: string) => ReturnType<typeof ossClient>;
const oss = (c: StsCredentials, bucket = MEDIA) => ossClient(emu, c, { bucket });
const vodCaller = (c: StsCredentials) => ({ accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: c.securityToken });

before(async () => {
  emu = await startEmulator({ env: { EMULATOR_BUCKETS: `${MEDIA},${OTHER}` } });
  dir = mkdtempSync(path.join(tmpdir(), 'policy-test-'));
  admin = (bucket = MEDIA) => ossClient(emu, { accessKeyId: emu.accessKeyId, accessKeySecret: emu.accessKeySecret }, { bucket });
  acme = await assumeRole(emu, { policy: policy(UPLOAD_ACME, VOD_UPLOAD, DENY_SECRET) });
});
after(async () => {
  await emu?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ali-oss with an STS token whose session policy allows uploads under acme/', () => {
  test('put, get and head inside acme/ round-trip the bytes', async () => {
    const body = randomBytes(50_000);
    await oss(acme).put('acme/a.bin', body);
    assert.ok((await oss(acme).get('acme/a.bin')).content.equals(body));
    assert.equal(Number((await oss(acme).head('acme/a.bin')).res.headers['content-length' as never]), body.length);
  });

  test('multipartUpload in 3 parts, then a manual upload listed and aborted', async () => {
    const body = randomBytes(250 * 1024);
    const file = path.join(dir, 'multi.bin');
    writeFileSync(file, body);
    await oss(acme).multipartUpload('acme/multi.bin', file, { partSize: 100 * 1024, parallel: 2 });
    assert.ok((await admin().get('acme/multi.bin')).content.equals(body));

    const init = await oss(acme).initMultipartUpload('acme/aborted.bin');
    await oss(acme).uploadPart('acme/aborted.bin', init.uploadId, 1, file, 0, 100 * 1024);
    await oss(acme).uploadPart('acme/aborted.bin', init.uploadId, 2, file, 100 * 1024, 200 * 1024);
    const listed = await oss(acme).listParts('acme/aborted.bin', init.uploadId);
    assert.deepEqual(
      listed.parts.map((p) => Number(p.PartNumber)),
      [1, 2],
    );
    await oss(acme).abortMultipartUpload('acme/aborted.bin', init.uploadId);
    await assert.rejects(oss(acme).listParts('acme/aborted.bin', init.uploadId), is('NoSuchUpload', 404), 'the abort happened');
  });

  test('outside the prefix or the bucket → AccessDenied (403), nothing written', async () => {
    await admin().put('other/x', Buffer.from('kept'));
    await admin(OTHER).put('acme/x', Buffer.from('kept'));
    for (const key of ['other/x', 'acmex/x', 'ACME/x', 'acme']) {
      await assert.rejects(oss(acme).put(key, Buffer.from('new')), denied, `put ${key}`);
      await assert.rejects(oss(acme).get(key), denied, `get ${key}`);
      await assert.rejects(oss(acme).head(key), denied, `head ${key}`);
    }
    await assert.rejects(oss(acme, OTHER).put('acme/x', Buffer.from('new')), denied);
    await assert.rejects(oss(acme, OTHER).get('acme/x'), denied);
    await assert.rejects(oss(acme).initMultipartUpload('other/multi'), denied);
    assert.equal((await admin().get('other/x')).content.toString(), 'kept');
    assert.equal((await admin(OTHER).get('acme/x')).content.toString(), 'kept');
    await assert.rejects(admin().head('acmex/x'), is('NoSuchKey', 404));
  });

  test('the refusal is OSS XML: AccessDenied, session policy, EC 0003-00000301', async () => {
    const err = (await oss(acme)
      .put('other/y', Buffer.from('x'))
      .catch((e: unknown) => e)) as { message: string; requestId?: string; ecCode?: string };
    assert.match(err.message, /session policy/);
    assert.ok(err.requestId);
    assert.equal(err.ecCode, '0003-00000301');
  });

  test('DeleteObject inside acme/ is not allowed: AccessDenied, the object stays', async () => {
    await oss(acme).put('acme/keep.bin', Buffer.from('keep'));
    await assert.rejects(oss(acme).delete('acme/keep.bin'), denied);
    assert.equal((await oss(acme).get('acme/keep.bin')).content.toString(), 'keep');
  });

  test('an explicit Deny on acme/secret/* wins over the Allow on acme/*', async () => {
    await admin().put('acme/secret/plan.txt', Buffer.from('secret'));
    await assert.rejects(oss(acme).put('acme/secret/new.txt', Buffer.from('x')), denied);
    await assert.rejects(oss(acme).get('acme/secret/plan.txt'), denied);
    await assert.rejects(oss(acme).initMultipartUpload('acme/secret/multi'), denied);
    await oss(acme).put('acme/secretive.txt', Buffer.from('fine'));
  });

  test('an STS token without a policy, and the long-term key, keep full access', async () => {
    const full = await assumeRole(emu);
    for (const client of [oss(full), admin()]) {
      await client.put('other/full', Buffer.from('x'));
      await client.delete('other/full');
    }
    await oss(full, OTHER).put('anything', Buffer.from('x'));
    await callVod(emu, 'CreateUploadVideo', { Title: 'full', FileName: 'f.mp4' }, vodCaller(full));
  });

  test('a token whose policy was altered is refused: InvalidSecurityToken', async () => {
    const m = /^CAIS([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(acme.securityToken);
    assert.ok(m, 'token format');
    const payload = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')) as { pol?: { statements: Array<{ action: string[]; resource: string[] }> } };
    assert.ok(payload.pol, 'the token carries its policy');
    payload.pol.statements = [{ ...payload.pol.statements[0], action: ['*'], resource: ['*'] }];
    const widened = { ...acme, securityToken: `CAIS${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${m[2]}` };
    await assert.rejects(oss(widened).put('other/z', Buffer.from('x')), is('InvalidSecurityToken', 403));
    await assert.rejects(oss(widened).put('acme/z', Buffer.from('x')), is('InvalidSecurityToken', 403));
    await assert.rejects(callVod(emu, 'GetVideoInfo', { VideoId: 'x' }, vodCaller(widened)), is('InvalidSecurityToken.Malformed', 400));
  });
});

describe('VOD and STS through openapi-core with session policies', () => {
  test('a policy without VOD actions → Forbidden.RAM (403)', async () => {
    const ossOnly = await assumeRole(emu, { policy: policy(UPLOAD_ACME) });
    await assert.rejects(callVod(emu, 'CreateUploadVideo', { Title: 'T', FileName: 'a.mp4' }, vodCaller(ossOnly)), is('Forbidden.RAM', 403));
    await assert.rejects(callVod(emu, 'GetVideoInfo', { VideoId: 'x' }, vodCaller(ossOnly)), is('Forbidden.RAM', 403));
  });

  test('a policy with them → CreateUploadVideo and RefreshUploadVideo work, GetVideoInfo does not; UploadAuth still uploads', async () => {
    const created = await callVod(emu, 'CreateUploadVideo', { Title: 'T', FileName: 'a.mp4' }, vodCaller(acme));
    const refreshed = await callVod(emu, 'RefreshUploadVideo', { VideoId: created.VideoId }, vodCaller(acme));
    assert.equal(refreshed.VideoId, created.VideoId);
    await assert.rejects(callVod(emu, 'GetVideoInfo', { VideoId: created.VideoId }, vodCaller(acme)), is('Forbidden.RAM', 403));

    const decode = (b: unknown) => JSON.parse(Buffer.from(String(b), 'base64').toString('utf8')) as Record<string, string>;
    const address = decode(created.UploadAddress);
    const auth = decode(created.UploadAuth);
    const creds = { accessKeyId: auth.AccessKeyId, accessKeySecret: auth.AccessKeySecret, securityToken: auth.SecurityToken, expiration: '' };
    await ossClient(emu, creds, { bucket: address.Bucket }).put(address.FileName, Buffer.from('video'));
    const info = await callVod(emu, 'GetVideoInfo', { VideoId: created.VideoId }, {});
    assert.equal((info.Video as { Status: string }).Status, 'UploadSucc');
  });

  test('acs:vod:*:*:* and vod:* match too; a policy naming another service does not', async () => {
    const wide = await assumeRole(emu, { policy: policy({ Effect: 'Allow', Action: 'VOD:*', Resource: 'acs:vod:*:*:*' }) });
    await callVod(emu, 'CreateUploadVideo', { Title: 'T', FileName: 'a.mp4' }, vodCaller(wide));
    const wrong = await assumeRole(emu, { policy: policy({ Effect: 'Allow', Action: 'vod:*', Resource: 'acs:oss:*:*:*' }) });
    await assert.rejects(callVod(emu, 'CreateUploadVideo', { Title: 'T', FileName: 'a.mp4' }, vodCaller(wrong)), is('Forbidden.RAM', 403));
  });

  test('AssumeRole with a session-policy token needs sts:AssumeRole on the role → else NoPermission (403)', async () => {
    await assert.rejects(assumeRole(emu, {}, vodCaller(acme)), is('NoPermission', 403));
    const chain = await assumeRole(emu, { policy: policy({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: 'acs:ram::*:role/vod-ingest' }) });
    await assumeRole(emu, {}, vodCaller(chain));
  });

  test('AssumeRole refuses a policy of the wrong grammar: InvalidParameter.PolicyGrammar (400)', async () => {
    for (const bad of [
      JSON.stringify({ Version: '2', Statement: [UPLOAD_ACME] }),
      JSON.stringify({ Version: '1', Statement: [{ ...UPLOAD_ACME, Effect: 'Maybe' }] }),
      JSON.stringify({ Version: '1', Statement: [{ ...UPLOAD_ACME, Action: [] }] }),
      JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'oss:*' }] }),
    ]) {
      await assert.rejects(assumeRole(emu, { policy: bad }), is('InvalidParameter.PolicyGrammar', 400), bad);
    }
  });
});
