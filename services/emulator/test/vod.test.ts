import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { crc64 } from '@vod-ingest/shared';
import { startEmulator, type TestEmulator } from '@vod-ingest/shared/testing';
import { assumeRole, callVod, ossClient, type StsCredentials } from './sdk.js';

interface UploadAddress {
  Endpoint: string;
  Bucket: string;
  FileName: string;
}
interface UploadAuth {
  AccessKeyId: string;
  AccessKeySecret: string;
  SecurityToken: string;
  Expiration: string;
  ExpireUTCTime: string;
  Region: string;
}
const decode = <T>(b64: unknown) => JSON.parse(Buffer.from(String(b64), 'base64').toString('utf8')) as T;

let emu: TestEmulator;
let sts: StsCredentials;
let caller: { accessKeyId: string; accessKeySecret: string; securityToken: string };
let dir: string;
before(async () => {
  emu = await startEmulator();
  sts = await assumeRole(emu);
  caller = { accessKeyId: sts.accessKeyId, accessKeySecret: sts.accessKeySecret, securityToken: sts.securityToken };
  dir = mkdtempSync(path.join(tmpdir(), 'vod-test-'));
});
after(async () => {
  await emu?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('VOD through openapi-core callApi, signed with STS credentials', () => {
  test('CreateUploadVideo → ali-oss upload with that auth → GetVideoInfo Uploading then UploadSucc; Refresh works', async () => {
    const created = await callVod(emu, 'CreateUploadVideo', { Title: 'Clip', FileName: 'clip.mp4', CateId: 10, Tags: 'a,b', UserData: '{"x":1}' }, caller);
    assert.match(String(created.VideoId), /^[0-9a-f]{32}$/);
    assert.ok(created.RequestId);
    const address = decode<UploadAddress>(created.UploadAddress);
    const auth = decode<UploadAuth>(created.UploadAuth);
    assert.equal(address.Endpoint, emu.url);
    assert.equal(address.Bucket, emu.vodBucket);
    assert.match(address.FileName, /^sv\/.+\.mp4$/);
    assert.match(auth.AccessKeyId, /^STS\./);
    assert.match(auth.Expiration, /^\d+$/, 'Expiration in UploadAuth is a number of seconds');
    assert.ok(Number(auth.Expiration) > 0);
    assert.ok(Math.abs(Date.parse(auth.ExpireUTCTime) - (Date.now() + Number(auth.Expiration) * 1000)) < 5000);
    assert.equal(auth.Region, emu.region);

    const info1 = (await callVod(emu, 'GetVideoInfo', { VideoId: created.VideoId }, caller)) as { Video: { Status: string; Title: string } };
    assert.equal(info1.Video.Status, 'Uploading');
    assert.equal(info1.Video.Title, 'Clip');

    const body = randomBytes(700_000);
    const file = path.join(dir, 'clip.mp4');
    writeFileSync(file, body);
    const oss = ossClient(
      emu,
      { accessKeyId: auth.AccessKeyId, accessKeySecret: auth.AccessKeySecret, securityToken: auth.SecurityToken },
      { bucket: address.Bucket },
    );
    await oss.multipartUpload(address.FileName, file, { partSize: 200 * 1024, parallel: 2 });
    const head = await oss.head(address.FileName);
    assert.equal((head.res.headers as Record<string, string>)['x-oss-hash-crc64ecma'], crc64(body));

    const info2 = (await callVod(emu, 'GetVideoInfo', { VideoId: created.VideoId }, caller)) as { Video: { Status: string; Size: number } };
    assert.equal(info2.Video.Status, 'UploadSucc');
    assert.equal(info2.Video.Size, body.length);

    const refreshed = await callVod(emu, 'RefreshUploadVideo', { VideoId: created.VideoId }, caller);
    assert.deepEqual(decode<UploadAddress>(refreshed.UploadAddress), address, 'same address');
    const auth2 = decode<UploadAuth>(refreshed.UploadAuth);
    assert.notEqual(auth2.AccessKeyId, auth.AccessKeyId, 'fresh credentials');
    const oss2 = ossClient(
      emu,
      { accessKeyId: auth2.AccessKeyId, accessKeySecret: auth2.AccessKeySecret, securityToken: auth2.SecurityToken },
      { bucket: address.Bucket },
    );
    await oss2.put(address.FileName, Buffer.from('replaced'));
    assert.equal((await oss2.get(address.FileName)).content.toString(), 'replaced');
  });

  test('UploadAuth credentials reach only their own object', async () => {
    const created = await callVod(emu, 'CreateUploadVideo', { Title: 'Scoped', FileName: 'scoped.mov' }, caller);
    const address = decode<UploadAddress>(created.UploadAddress);
    const auth = decode<UploadAuth>(created.UploadAuth);
    const oss = ossClient(
      emu,
      { accessKeyId: auth.AccessKeyId, accessKeySecret: auth.AccessKeySecret, securityToken: auth.SecurityToken },
      { bucket: address.Bucket },
    );
    await assert.rejects(oss.put(`${address.FileName}.other`, Buffer.from('x')), (e: { code?: string }) => e.code === 'AccessDenied');
  });

  test('unknown VideoId → InvalidVideo.NotFound; missing Title → MissingParameter', async () => {
    for (const action of ['GetVideoInfo', 'RefreshUploadVideo']) {
      await assert.rejects(callVod(emu, action, { VideoId: 'f'.repeat(32) }, caller), (e: { code?: string; statusCode?: number }) => {
        assert.equal(e.code, 'InvalidVideo.NotFound');
        assert.equal(e.statusCode, 404);
        return true;
      });
    }
    await assert.rejects(callVod(emu, 'CreateUploadVideo', { FileName: 'a.mp4' }, caller), (e: { code?: string }) => e.code === 'MissingParameter');
    await assert.rejects(
      callVod(emu, 'CreateUploadVideo', { Title: 'x', FileName: 'noext' }, caller),
      (e: { code?: string }) => e.code === 'InvalidParameter.FileName',
    );
  });

  test('works with v2 signing and the long-term key too', async () => {
    const created = await callVod(emu, 'CreateUploadVideo', { Title: 'V2 clip', FileName: 'v2.mp4' }, { signatureAlgorithm: 'v2' });
    assert.match(String(created.VideoId), /^[0-9a-f]{32}$/);
  });
});
