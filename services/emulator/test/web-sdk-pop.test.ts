import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type TestEmulator } from '@vod-ingest/shared/testing';
import { assumeRole, webSdkVodUrl, type StsCredentials } from './sdk.js';

let emu: TestEmulator;
let creds: StsCredentials;
before(async () => {
  emu = await startEmulator();
  creds = await assumeRole(emu);
});
after(async () => {
  await emu?.stop();
});

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('VOD requests as aliyun-upload-vod 1.0.6 sends them in STS mode (v2 GET, no Timestamp)', () => {
  test('CreateUploadVideo and RefreshUploadVideo work without a Timestamp', async () => {
    const created = await get(
      webSdkVodUrl(emu, creds, 'CreateUploadVideo', {
        Title: 'From the browser',
        FileName: 'a clip (1).mp4',
        FileSize: '1234',
        UserData: JSON.stringify('{"Vod":{}}'),
      }),
    );
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.match(String(created.body.VideoId), /^[0-9a-f]{32}$/);
    const address = JSON.parse(Buffer.from(String(created.body.UploadAddress), 'base64').toString()) as { Bucket: string; FileName: string };
    assert.equal(address.Bucket, emu.vodBucket);

    const refreshed = await get(webSdkVodUrl(emu, creds, 'RefreshUploadVideo', { VideoId: String(created.body.VideoId) }));
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.equal(refreshed.body.VideoId, created.body.VideoId);
  });

  test('the nonce still stops a replay', async () => {
    const url = webSdkVodUrl(emu, creds, 'CreateUploadVideo', { Title: 'Once', FileName: 'once.mp4' });
    assert.equal((await get(url)).status, 200);
    const replay = await get(url);
    assert.deepEqual([replay.status, replay.body.Code], [400, 'SignatureNonceUsed']);
    const noNonce = await get(webSdkVodUrl(emu, creds, 'CreateUploadVideo', { Title: 'x', FileName: 'x.mp4' }, { SignatureNonce: '' }));
    assert.deepEqual([noNonce.status, noNonce.body.Code], [400, 'MissingParameter']);
  });

  test('a Timestamp that is sent must still be well formed and fresh', async () => {
    const bad = await get(webSdkVodUrl(emu, creds, 'CreateUploadVideo', { Title: 'x', FileName: 'x.mp4' }, { Timestamp: 'yesterday-ish' }));
    assert.deepEqual([bad.status, bad.body.Code], [400, 'InvalidTimeStamp.Format']);
    const empty = await get(webSdkVodUrl(emu, creds, 'CreateUploadVideo', { Title: 'x', FileName: 'x.mp4' }, { Timestamp: '' }));
    assert.deepEqual([empty.status, empty.body.Code], [400, 'InvalidTimeStamp.Format']);
    const old = new Date(Date.now() - 60 * 60 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const expired = await get(webSdkVodUrl(emu, creds, 'CreateUploadVideo', { Title: 'x', FileName: 'x.mp4' }, { Timestamp: old }));
    assert.deepEqual([expired.status, expired.body.Code], [400, 'InvalidTimeStamp.Expired']);
    const fresh = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    assert.equal((await get(webSdkVodUrl(emu, creds, 'CreateUploadVideo', { Title: 'x', FileName: 'x.mp4' }, { Timestamp: fresh }))).status, 200);
  });

  test('the signature is still checked: a wrong secret is SignatureDoesNotMatch', async () => {
    const res = await get(webSdkVodUrl(emu, { ...creds, accessKeySecret: 'not-the-secret-at-all' }, 'CreateUploadVideo', { Title: 'x', FileName: 'x.mp4' }));
    assert.deepEqual([res.status, res.body.Code], [403, 'SignatureDoesNotMatch']);
  });
});
