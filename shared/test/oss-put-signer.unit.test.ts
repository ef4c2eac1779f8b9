import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import OSS from 'ali-oss';
import { ossPutSigner, type PutRequest, type SignedPut } from '../src/alibaba/oss-put-signer.js';

const createRequest = (
  createRequire(import.meta.url)('ali-oss/lib/common/utils/createRequest.js') as {
    createRequest: (this: OSS, params: object) => { url: string; params: { headers: Record<string, string | number> } };
  }
).createRequest;

const sts = {
  accessKeyId: 'STS.NUgYrLnoC37mZZCNnAbez2A3A',
  accessKeySecret: 'HhKyBF9vgZqkT2Lz1bUEYX3wzyM3N3CMfgGEfJaCq8jF',
  stsToken: `CAIS${'x'.repeat(600)}`,
};
const clients: Record<string, OSS.Options & { sldEnable?: boolean }> = {
  'emulator (IP endpoint, path style, STS)': { endpoint: 'http://127.0.0.1:9000', sldEnable: true, region: 'oss-cn-shanghai', bucket: 'media-bucket', ...sts },
  'public endpoint, virtual host, https, AccessKey': {
    endpoint: 'https://oss-cn-hangzhou.aliyuncs.com',
    region: 'oss-cn-hangzhou',
    bucket: 'media-bucket',
    accessKeyId: 'LTAI5tExampleKeyId',
    accessKeySecret: 'exampleSecret',
    secure: true,
  },
  'localhost, path style': { endpoint: 'http://localhost:9000', sldEnable: true, region: 'oss-cn-beijing', bucket: 'b-1', ...sts },
  'IP endpoint, internal region': { endpoint: 'http://10.0.0.7', region: 'oss-cn-beijing', internal: true, bucket: 'media-bucket', ...sts },
  'IP endpoint, VPC region': { endpoint: 'http://10.0.0.7:80', region: 'vpc100-oss-cn-beijing', internal: true, bucket: 'media-bucket', ...sts },
  cname: { endpoint: 'https://media.example.com', cname: true, region: 'oss-cn-shanghai', bucket: 'media-bucket', ...sts },
};
const keys = [
  'a.mp4',
  'tenant/acme/2026/12/vidéo 日本.MOV',
  '/leading//slash.bin',
  'plus+and%percent#hash?q=1&x=2',
  "tilde~!*'()[]@$,;=.webm",
  'no-extension',
  'UPPER.JPG',
  'lone-\ud800-surrogate.bin',
  'dir/',
];
const requests: Record<string, PutRequest> = {
  'PutObject with metadata': { headers: { 'Content-Length': 262144, 'x-oss-meta-job-id': 'job_01', 'x-oss-meta-tenant': ' acme ' } },
  'PutObject, content type': { headers: { 'Content-Length': 5 }, mime: 'video/mp4' },
  'PutObject, content type without a slash': { headers: { 'Content-Length': 5 }, mime: 'mp4' },
  'PutObject, unknown content type': { headers: { 'Content-Length': 5 }, mime: 'not-a-type' },
  'PutObject, empty': { headers: { 'Content-Length': 0 } },
  UploadPart: { headers: { 'Content-Length': 8 * 1024 * 1024 }, subres: { partNumber: 3, uploadId: '0004B9894A22E5B1888A1E29F823****' } },
  'UploadPart 10000': { headers: { 'Content-Length': 1 }, subres: { partNumber: 10000, uploadId: 'A+B/C=' } },
};

/** The URL `s` stands for, written as ali-oss writes its request URL. */
function urlOf(s: SignedPut): string {
  return `${s.protocol}//${s.hostname}${s.port ? `:${s.port}` : ''}${s.path}`;
}

/** ali-oss's request for `key`, signed within the same second as ours (tried again across a second's edge). */
function both(oss: OSS, key: string, req: PutRequest) {
  for (;;) {
    const now = Date.now();
    const ours = ossPutSigner(oss)!.sign(key, req, now);
    const params = (oss as unknown as { _objectRequestParams(m: string, k: string, o: object): object })._objectRequestParams('PUT', key, {
      headers: req.headers,
      subres: req.subres ?? {},
    });
    const theirs = createRequest.call(oss, { ...params, mime: req.mime });
    if (theirs.params.headers['x-oss-date'] === ours.headers['x-oss-date']) return { ours, theirs };
  }
}

describe('ossPutSigner: the PUT ali-oss would send, byte for byte', () => {
  for (const [clientName, options] of Object.entries(clients))
    test(clientName, () => {
      const oss = new OSS({ ...options, refreshSTSTokenInterval: 3_600_000 } as OSS.Options);
      for (const key of keys)
        for (const [reqName, req] of Object.entries(requests)) {
          const { ours, theirs } = both(oss, key, req);
          const what = `${reqName} of ${JSON.stringify(key)}`;
          assert.equal(urlOf(ours), theirs.url, what);
          // Same headers, same values, in the same order.
          assert.deepEqual(Object.entries(ours.headers), Object.entries(theirs.params.headers), what);
        }
    });

  test('the date is the request time in GMT, to the second', () => {
    const oss = new OSS({ ...clients['emulator (IP endpoint, path style, STS)']!, refreshSTSTokenInterval: 3_600_000 } as OSS.Options);
    const s = ossPutSigner(oss)!;
    const at = Date.UTC(2026, 11, 3, 17, 5, 9, 999);
    assert.equal(s.sign('a', { headers: {} }, at).headers['x-oss-date'], 'Thu, 03 Dec 2026 17:05:09 GMT');
    assert.equal(s.sign('a', { headers: {} }, at + 1).headers['x-oss-date'], 'Thu, 03 Dec 2026 17:05:10 GMT');
  });

  test('options it does not reproduce are left to ali-oss', () => {
    const base = { ...clients['emulator (IP endpoint, path style, STS)']!, refreshSTSTokenInterval: 3_600_000 };
    assert.equal(ossPutSigner(new OSS({ ...base, authorizationV4: true } as OSS.Options)), undefined);
    assert.equal(ossPutSigner(new OSS({ ...base, amendTimeSkewed: 1000 } as OSS.Options)), undefined);
    assert.equal(ossPutSigner(new OSS({ ...base, headerEncoding: 'latin1' } as OSS.Options)), undefined);
    assert.equal(ossPutSigner(new OSS({ ...base, isRequestPay: true } as OSS.Options)), undefined);
    const { bucket: _none, ...noBucket } = base;
    assert.equal(ossPutSigner(new OSS(noBucket as OSS.Options)), undefined);
  });
});
