import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OSS from 'ali-oss';
import { crc64 } from '@vod-ingest/shared';
import { startEmulator, type TestEmulator } from '@vod-ingest/shared/testing';
import { assumeRole, callVod, type StsCredentials } from './sdk.js';

/** Resolves `*.localhost` to loopback as Chromium does (glibc need not). */
function localhostLookup(hostname: string, options: LookupOptions, callback: (...args: unknown[]) => void): void {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) {
    if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }] satisfies LookupAddress[]);
    else callback(null, '127.0.0.1', 4);
    return;
  }
  dnsLookup(hostname, options, callback as never);
}

let emu: TestEmulator;
let creds: StsCredentials;
let dir: string;
const agent = new Agent({ keepAlive: true, lookup: localhostLookup } as never);
before(async () => {
  emu = await startEmulator();
  creds = await assumeRole(emu);
  dir = mkdtempSync(path.join(tmpdir(), 'vhost-test-'));
});
after(async () => {
  agent.destroy();
  await emu?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Mode = 'localhost' | 'ip';
/**
 * ali-oss without sldEnable. `localhost`: bucket in the host name (`<bucket>.localhost:port`, as
 * in a browser). `ip`: an IP endpoint, which makes ali-oss send `Host: <bucket>.oss-<region>.aliyuncs.com`.
 */
function client(mode: Mode, v4: boolean, bucket: string, c: { accessKeyId: string; accessKeySecret: string; securityToken?: string } = creds): OSS {
  return new OSS({
    endpoint: mode === 'localhost' ? `http://localhost:${emu.port}` : `http://127.0.0.1:${emu.port}`,
    region: `oss-${emu.region}`,
    accessKeyId: c.accessKeyId,
    accessKeySecret: c.accessKeySecret,
    stsToken: c.securityToken,
    bucket,
    authorizationV4: v4,
    agent,
    timeout: 60_000,
  } as OSS.Options);
}

for (const mode of ['localhost', 'ip'] as const) {
  for (const v4 of [false, true]) {
    describe(`virtual-hosted bucket addressing, ${mode} endpoint, ${v4 ? 'V4' : 'V1'} signing`, () => {
      test('put, get and head round-trip the bytes; the request named the bucket in the host', async () => {
        const oss = client(mode, v4, emu.bucket);
        const body = randomBytes(150_000);
        const key = `vhost/${mode}-${v4 ? 'v4' : 'v1'}/a b+é.bin`;
        const put = await oss.put(key, body);
        assert.equal(put.res.status, 200);
        const urls = (put.res as unknown as { requestUrls: string[] }).requestUrls;
        if (mode === 'localhost') assert.match(urls[0], new RegExp(`^http://${emu.bucket}\\.localhost:`));
        else assert.match(urls[0], new RegExp(`^http://127\\.0\\.0\\.1:${emu.port}/vhost/`), 'no bucket in the path: only the Host names it');
        const got = await oss.get(key);
        assert.ok(Buffer.compare(got.content, body) === 0, 'bytes equal');
        const head = await oss.head(key);
        assert.equal((head.res.headers as Record<string, string>)['x-oss-hash-crc64ecma'], crc64(body));
        // Path-style sees the same object: one bucket, two ways to name it.
        const { objects } = await emu.admin<{ objects: Array<{ key: string; size: number }> }>('GET', `objects?bucket=${emu.bucket}`);
        assert.equal(objects.find((o) => o.key === key)?.size, body.length);
      });

      test('multipartUpload of a file: bytes and CRC-64 of the whole object', async () => {
        const oss = client(mode, v4, emu.bucket);
        const body = randomBytes(700_000);
        const file = path.join(dir, `${mode}-${v4}.bin`);
        writeFileSync(file, body);
        const key = `vhost/multi-${mode}-${v4 ? 'v4' : 'v1'}.bin`;
        await oss.multipartUpload(key, file, { partSize: 200 * 1024, parallel: 2 });
        const got = await oss.get(key);
        assert.ok(Buffer.compare(got.content, body) === 0, 'bytes equal');
        assert.equal((got.res.headers as Record<string, string>)['x-oss-hash-crc64ecma'], crc64(body));
      });

      test('signatures are checked: a wrong secret is SignatureDoesNotMatch', async () => {
        const oss = client(mode, v4, emu.bucket, { ...creds, accessKeySecret: 'wrong-secret-wrong-secret' });
        await assert.rejects(oss.put('vhost/denied.bin', Buffer.from('x')), (e: { code?: string }) => e.code === 'SignatureDoesNotMatch');
      });
    });
  }
}

describe('the web SDK way: UploadAddress endpoint, bucket in the host name', () => {
  test('UploadAuth credentials upload their video in virtual-hosted style; GetVideoInfo says UploadSucc', async () => {
    const created = await callVod(emu, 'CreateUploadVideo', { Title: 'vhost', FileName: 'vhost.mp4' }, creds);
    const address = JSON.parse(Buffer.from(String(created.UploadAddress), 'base64').toString()) as { Endpoint: string; Bucket: string; FileName: string };
    const auth = JSON.parse(Buffer.from(String(created.UploadAuth), 'base64').toString()) as {
      AccessKeyId: string;
      AccessKeySecret: string;
      SecurityToken: string;
    };
    assert.equal(address.Endpoint, `http://localhost:${emu.port}`);
    const oss = client('localhost', false, address.Bucket, {
      accessKeyId: auth.AccessKeyId,
      accessKeySecret: auth.AccessKeySecret,
      securityToken: auth.SecurityToken,
    });
    const body = randomBytes(300_000);
    const file = path.join(dir, 'vhost.mp4');
    writeFileSync(file, body);
    await oss.multipartUpload(address.FileName, file, { partSize: 100 * 1024 });
    assert.ok(Buffer.compare((await oss.get(address.FileName)).content, body) === 0);
    const info = (await callVod(emu, 'GetVideoInfo', { VideoId: created.VideoId }, creds)) as { Video: { Status: string; Size: number } };
    assert.deepEqual([info.Video.Status, info.Video.Size], ['UploadSucc', body.length]);
  });
});
