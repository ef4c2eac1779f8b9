import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { crc64 } from '@vod-ingest/shared';
import { startEmulator, type TestEmulator } from '@vod-ingest/shared/testing';
import { assumeRole, ossClient, type StsCredentials } from './sdk.js';

type OssErr = { code?: string; status?: number; name?: string };
const is = (code: string, status?: number) => (e: unknown) => {
  const err = e as OssErr;
  assert.equal(err.code, code, `expected ${code}, got ${err.code} (${String((e as Error).message)})`);
  if (status !== undefined) assert.equal(err.status, status);
  return true;
};
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

let emu: TestEmulator;
let creds: StsCredentials;
let dir: string;

before(async () => {
  emu = await startEmulator();
  creds = await assumeRole(emu);
  dir = mkdtempSync(path.join(tmpdir(), 'oss-test-'));
});
after(async () => {
  await emu?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

for (const v4 of [false, true]) {
  describe(`ali-oss with STS credentials, ${v4 ? 'V4' : 'V1'} signing`, () => {
    test('put, get (whole and ranges), head and delete round-trip the bytes', async () => {
      const oss = ossClient(emu, creds, { v4 });
      const body = randomBytes(300_000);
      const key = `objects/${v4 ? 'v4' : 'v1'}/clip é+%#?.bin`;
      const put = await oss.put(key, body, { headers: { 'x-oss-meta-origin': 'test' } } as never);
      assert.equal(put.res.status, 200);
      assert.equal(put.res.headers['x-oss-hash-crc64ecma' as never], crc64(body));

      const whole = await oss.get(key);
      assert.ok(Buffer.compare(whole.content, body) === 0, 'downloaded bytes equal uploaded bytes');

      const range = await oss.get(key, { headers: { Range: 'bytes=1000-1999' } } as never);
      assert.equal(range.res.status, 206);
      assert.ok(range.content.equals(body.subarray(1000, 2000)));
      const suffix = await oss.get(key, { headers: { Range: 'bytes=-10' } } as never);
      assert.ok(suffix.content.equals(body.subarray(body.length - 10)));
      const open = await oss.get(key, { headers: { Range: 'bytes=299990-' } } as never);
      assert.ok(open.content.equals(body.subarray(299_990)));

      const head = await oss.head(key);
      const h = head.res.headers as Record<string, string>;
      assert.equal(Number(h['content-length']), body.length);
      assert.equal(h['x-oss-hash-crc64ecma'], crc64(body));
      assert.equal(h['x-oss-object-type'], 'Normal');
      assert.equal(h.etag, `"${md5(body).toUpperCase()}"`);
      assert.equal((head.meta as Record<string, string>).origin, 'test');

      await oss.delete(key);
      await assert.rejects(oss.head(key), is('NoSuchKey', 404));
      await assert.rejects(oss.get(key), is('NoSuchKey', 404));
    });

    test('multipartUpload of a file: bytes, ETag and CRC-64 of the whole object', async () => {
      const oss = ossClient(emu, creds, { v4 });
      const body = randomBytes(1_300_000);
      const file = path.join(dir, `multi-${v4}.bin`);
      writeFileSync(file, body);
      const key = `multipart/${v4 ? 'v4' : 'v1'}.bin`;
      const res = await oss.multipartUpload(key, file, { partSize: 256 * 1024, parallel: 3 });
      assert.equal(res.res.status, 200);
      const head = await oss.head(key);
      const h = head.res.headers as Record<string, string>;
      assert.equal(h['x-oss-object-type'], 'Multipart');
      assert.match(h.etag, /^"[0-9A-F]{32}-5"$/);
      assert.equal(h['x-oss-hash-crc64ecma'], crc64(body), 'a multipart object has the CRC of its whole content');
      const got = await oss.get(key);
      assert.equal(md5(got.content), md5(body));
    });
  });
}

describe('CRC-64 headers', () => {
  test('"123456789" has the CRC-64/ECMA check value', async () => {
    const oss = ossClient(emu, creds);
    const put = await oss.put('crc/check', Buffer.from('123456789'));
    assert.equal((put.res.headers as Record<string, string>)['x-oss-hash-crc64ecma'], '11051210869376104954');
  });

  test('each part and the completed object carry the CRC of their bytes', async () => {
    const oss = ossClient(emu, creds);
    const a = randomBytes(150 * 1024);
    const b = randomBytes(1234);
    const init = await oss.initMultipartUpload('crc/parts');
    const p1 = await oss.uploadPart('crc/parts', init.uploadId, 1, writeTmp(a), 0, a.length);
    const p2 = await oss.uploadPart('crc/parts', init.uploadId, 2, writeTmp(b), 0, b.length);
    assert.equal((p1.res.headers as Record<string, string>)['x-oss-hash-crc64ecma'], crc64(a));
    assert.equal((p2.res.headers as Record<string, string>)['x-oss-hash-crc64ecma'], crc64(b));
    const listed = await oss.listParts('crc/parts', init.uploadId);
    assert.deepEqual(
      listed.parts.map((p) => Number(p.PartNumber)),
      [1, 2],
    );
    const done = await oss.completeMultipartUpload('crc/parts', init.uploadId, [
      { number: 1, etag: p1.etag },
      { number: 2, etag: p2.etag },
    ]);
    assert.equal((done.res.headers as Record<string, string>)['x-oss-hash-crc64ecma'], crc64(Buffer.concat([a, b])));
  });
});

/** CompleteMultipartUpload with the parts in the order given, signed by ali-oss itself. */
async function completeInOrderGiven(oss: ReturnType<typeof ossClient>, name: string, uploadId: string, parts: Array<{ number: number; etag: string }>) {
  const client = oss as unknown as {
    _objectRequestParams(method: string, name: string, opt: object): Record<string, unknown>;
    request(params: object): Promise<unknown>;
  };
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload>\n${parts
    .map((p) => `<Part>\n<PartNumber>${p.number}</PartNumber>\n<ETag>${p.etag}</ETag>\n</Part>\n`)
    .join('')}</CompleteMultipartUpload>`;
  const params = client._objectRequestParams('POST', name, { subres: { uploadId } });
  Object.assign(params, { mime: 'xml', content: Buffer.from(xml), successStatuses: [200] });
  return client.request(params);
}

function writeTmp(buf: Buffer): string {
  const f = path.join(dir, randomBytes(6).toString('hex'));
  writeFileSync(f, buf);
  return f;
}

describe('wrong use fails as on the cloud', () => {
  test('wrong secret → SignatureDoesNotMatch (403), V1 and V4', async () => {
    for (const v4 of [false, true]) {
      const oss = ossClient(emu, { ...creds, accessKeySecret: 'not-the-secret' }, { v4 });
      await assert.rejects(oss.put('x', Buffer.from('x')), is('SignatureDoesNotMatch', 403));
    }
  });

  test('expired STS token → SecurityTokenExpired (403), also in the middle of a multipart upload', async () => {
    // 4 s: long enough for the first part on a loaded CI machine, short enough to wait out.
    const short = await startEmulator({ tokenTtlSeconds: 4 });
    try {
      const c = await assumeRole(short);
      const oss = ossClient(short, c, { bucket: short.bucket });
      const init = await oss.initMultipartUpload('expiring');
      await oss.uploadPart('expiring', init.uploadId, 1, writeTmp(randomBytes(100 * 1024)), 0, 100 * 1024);
      await new Promise((r) => setTimeout(r, Date.parse(c.expiration) - Date.now() + 500));
      await assert.rejects(oss.uploadPart('expiring', init.uploadId, 2, writeTmp(randomBytes(10)), 0, 10), is('SecurityTokenExpired', 403));
      await assert.rejects(oss.put('late', Buffer.from('x')), is('SecurityTokenExpired', 403));
      // A fresh credential goes on with the same upload id; the finished part is still there.
      const fresh = ossClient(short, await assumeRole(short), { bucket: short.bucket });
      const listed = await fresh.listParts('expiring', init.uploadId);
      // ali-oss hands a lone <Part> back as an object, not a one-element array.
      assert.equal(([] as unknown[]).concat(listed.parts).length, 1);
    } finally {
      await short.stop();
    }
  });

  test('unknown access key → InvalidAccessKeyId (403)', async () => {
    const oss = ossClient(emu, { accessKeyId: 'LTAI5tNoSuchKey000000', accessKeySecret: 'whatever-secret' });
    await assert.rejects(oss.put('x', Buffer.from('x')), is('InvalidAccessKeyId', 403));
  });

  test('a tampered security token is rejected', async () => {
    // The MAC's first character: every one of its 6 bits counts (the last one's low bits are base64url padding).
    const dot = creds.securityToken.indexOf('.') + 1;
    const flipped = creds.securityToken[dot] === 'A' ? 'B' : 'A';
    const tampered = creds.securityToken.slice(0, dot) + flipped + creds.securityToken.slice(dot + 1);
    const oss = ossClient(emu, { ...creds, securityToken: tampered });
    await assert.rejects(oss.put('x', Buffer.from('x')), is('InvalidSecurityToken', 403));
    const other = await assumeRole(emu);
    const mixed = ossClient(emu, { ...creds, securityToken: other.securityToken });
    await assert.rejects(mixed.put('x', Buffer.from('x')), (e: unknown) => (e as OssErr).status === 403);
  });

  test('request time skewed over 15 minutes → RequestTimeTooSkewed', async () => {
    for (const v4 of [false, true]) {
      const oss = ossClient(emu, creds, { v4 });
      (oss as unknown as { options: { amendTimeSkewed: number } }).options.amendTimeSkewed = -16 * 60 * 1000;
      await assert.rejects(oss.put('skew', Buffer.from('x')), is('RequestTimeTooSkewed', 403));
    }
  });

  test('anonymous request → AccessDenied; unknown bucket → NoSuchBucket', async () => {
    const res = await fetch(`${emu.url}/${emu.bucket}/anything`);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /<Code>AccessDenied<\/Code>/);
    const oss = ossClient(emu, creds, { bucket: 'no-such-bucket' });
    await assert.rejects(oss.put('x', Buffer.from('x')), is('NoSuchBucket', 404));
  });

  test('CompleteMultipartUpload: missing part → InvalidPart, out of order → InvalidPartOrder, small part → EntityTooSmall', async () => {
    const oss = ossClient(emu, creds);
    const big = randomBytes(100 * 1024);
    const small = randomBytes(1000);
    const init = await oss.initMultipartUpload('complete/rules');
    const p1 = await oss.uploadPart('complete/rules', init.uploadId, 1, writeTmp(small), 0, small.length);
    const p2 = await oss.uploadPart('complete/rules', init.uploadId, 2, writeTmp(big), 0, big.length);
    const p3 = await oss.uploadPart('complete/rules', init.uploadId, 3, writeTmp(small), 0, small.length);

    await assert.rejects(
      oss.completeMultipartUpload('complete/rules', init.uploadId, [
        { number: 2, etag: p2.etag },
        { number: 4, etag: p3.etag },
      ]),
      is('InvalidPart', 400),
    );
    await assert.rejects(
      oss.completeMultipartUpload('complete/rules', init.uploadId, [
        { number: 2, etag: p1.etag },
        { number: 3, etag: p3.etag },
      ]),
      is('InvalidPart', 400),
      'a wrong ETag is InvalidPart too',
    );
    // ali-oss sorts the list itself; its signed low-level request sends the order we give.
    await assert.rejects(
      completeInOrderGiven(oss, 'complete/rules', init.uploadId, [
        { number: 3, etag: p3.etag },
        { number: 2, etag: p2.etag },
      ]),
      is('InvalidPartOrder', 400),
    );
    await assert.rejects(
      oss.completeMultipartUpload('complete/rules', init.uploadId, [
        { number: 1, etag: p1.etag },
        { number: 2, etag: p2.etag },
      ]),
      is('EntityTooSmall', 400),
    );
    // A small LAST part is fine: 100 KiB then 1000 bytes.
    const ok = await oss.completeMultipartUpload('complete/rules', init.uploadId, [
      { number: 2, etag: p2.etag },
      { number: 3, etag: p3.etag },
    ]);
    assert.equal(ok.res.status, 200);
    const got = await oss.get('complete/rules');
    assert.ok(got.content.equals(Buffer.concat([big, small])));
  });

  test('unknown or aborted upload id → NoSuchUpload (404) on part, list, complete and abort', async () => {
    const oss = ossClient(emu, creds);
    const bogus = 'ABCDEF0123456789ABCDEF0123456789';
    const f = writeTmp(randomBytes(10));
    await assert.rejects(oss.uploadPart('nsu', bogus, 1, f, 0, 10), is('NoSuchUpload', 404));
    await assert.rejects(oss.listParts('nsu', bogus), is('NoSuchUpload', 404));
    await assert.rejects(oss.completeMultipartUpload('nsu', bogus, [{ number: 1, etag: '"X"' }]), is('NoSuchUpload', 404));
    await assert.rejects(oss.abortMultipartUpload('nsu', bogus), is('NoSuchUpload', 404));

    const init = await oss.initMultipartUpload('nsu');
    await oss.uploadPart('nsu', init.uploadId, 1, f, 0, 10);
    await oss.abortMultipartUpload('nsu', init.uploadId);
    await assert.rejects(oss.listParts('nsu', init.uploadId), is('NoSuchUpload', 404));
    const { uploads } = await emu.admin<{ uploads: Array<{ uploadId: string }> }>('GET', 'uploads');
    assert.ok(!uploads.some((u) => u.uploadId === init.uploadId), 'no orphan parts after abort');
  });
});
