import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { bucketOfHost, parseOssRequest } from '../src/oss/addressing.js';

const buckets = new Set(['media', 'outin-abc']);
const has = (b: string) => buckets.has(b);
const req = (url: string, host: string, method = 'PUT') => ({ url, method, headers: { host } }) as unknown as IncomingMessage;

describe('bucketOfHost: virtual-hosted style beside path style', () => {
  test('<existing bucket>.<anything> names the bucket, port or not, any case', () => {
    assert.equal(bucketOfHost('media.localhost:9100', has), 'media');
    assert.equal(bucketOfHost('outin-abc.oss-cn-shanghai.aliyuncs.com', has), 'outin-abc');
    assert.equal(bucketOfHost('MEDIA.Example.com', has), 'media');
  });

  test('IP literals, one-label hosts and unknown first labels are path-style endpoints', () => {
    for (const host of [
      '127.0.0.1:9100',
      '[::1]:9100',
      'localhost:9100',
      'emulator:9100',
      'oss-cn-shanghai.aliyuncs.com',
      'vod.cn-shanghai.aliyuncs.com',
      '',
      undefined,
    ]) {
      assert.equal(bucketOfHost(host, has), undefined, String(host));
    }
  });
});

describe('parseOssRequest', () => {
  test('virtual-hosted: the whole path is the key', () => {
    const r = parseOssRequest(req('/sv/a%20b/c.mp4?partNumber=1&uploadId=X', 'outin-abc.localhost:9100'), has);
    assert.deepEqual([r.bucket, r.key, r.action, r.virtualHosted], ['outin-abc', 'sv/a b/c.mp4', 'UploadPart', true]);
    const root = parseOssRequest(req('/', 'media.localhost', 'GET'), has);
    assert.deepEqual([root.bucket, root.key, root.action], ['media', undefined, 'ListObjects']);
  });

  test('path style: the first segment is the bucket, whatever the host', () => {
    const r = parseOssRequest(req('/media/dir/k.bin', 'localhost:9100'), has);
    assert.deepEqual([r.bucket, r.key, r.virtualHosted], ['media', 'dir/k.bin', false]);
  });
});
