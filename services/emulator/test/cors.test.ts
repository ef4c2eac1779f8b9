import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEmulator, type TestEmulator } from '@vod-ingest/shared/testing';
import { raw } from './raw-http.js';
import { assumeRole, ossClient, webSdkVodUrl, type StsCredentials } from './sdk.js';

const APP = 'https://app.example';
const EVIL = 'https://evil.example';
const preflightHeaders = (origin: string, method = 'PUT', requested = 'authorization,content-type,x-oss-date,x-oss-security-token,x-oss-user-agent') => ({
  Origin: origin,
  'Access-Control-Request-Method': method,
  'Access-Control-Request-Headers': requested,
});
const exposed = (h: Record<string, unknown>) =>
  String(h['access-control-expose-headers'] ?? '')
    .split(/\s*,\s*/)
    .map((s) => s.toLowerCase());

let strict: TestEmulator;
let open: TestEmulator;
let creds: StsCredentials;
before(async () => {
  [strict, open] = await Promise.all([startEmulator({ corsOrigins: [APP, 'http://localhost:5173'] }), startEmulator()]);
  creds = await assumeRole(strict);
});
after(async () => {
  await Promise.all([strict?.stop(), open?.stop()]);
});

describe('OSS bucket CORS', () => {
  test('a preflight from an allowed origin is answered before authentication, as OSS answers it', async () => {
    for (const p of [`/${strict.bucket}/uploads/clip.mp4?uploads`, `/${strict.vodBucket}/sv/a/a.mp4?partNumber=1&uploadId=X`]) {
      const res = await raw(strict.port, 'OPTIONS', p, preflightHeaders(APP));
      assert.equal(res.status, 200, p);
      assert.equal(res.headers['access-control-allow-origin'], APP, 'the request origin, echoed');
      assert.deepEqual(String(res.headers['access-control-allow-methods']).split(/\s*,\s*/), ['GET', 'PUT', 'POST', 'DELETE', 'HEAD']);
      assert.equal(res.headers['access-control-allow-headers'], 'authorization,content-type,x-oss-date,x-oss-security-token,x-oss-user-agent');
      for (const h of ['etag', 'x-oss-request-id', 'x-oss-hash-crc64ecma']) assert.ok(exposed(res.headers).includes(h), `${h} exposed`);
      assert.ok(Number(res.headers['access-control-max-age']) > 0);
      assert.ok(res.headers['x-oss-request-id']);
    }
  });

  test('a preflight from another origin, or for another method, is refused with 403 AccessForbidden and no CORS headers', async () => {
    for (const headers of [preflightHeaders(EVIL), preflightHeaders(APP, 'PATCH'), { Origin: APP }]) {
      const res = await raw(strict.port, 'OPTIONS', `/${strict.bucket}/k`, headers);
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.match(res.body, /<Code>AccessForbidden<\/Code>/);
      assert.match(res.body, /CORSResponse: This CORS request is not allowed/);
      assert.equal(res.headers['access-control-allow-origin'], undefined);
    }
  });

  test('the default rule (*) allows any origin', async () => {
    const res = await raw(open.port, 'OPTIONS', `/${open.bucket}/k`, preflightHeaders(EVIL, 'GET'));
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], EVIL);
  });

  test('answers to an allowed origin carry ACAO and expose ETag, errors included; other origins get neither', async () => {
    const oss = ossClient(strict, creds);
    const put = await oss.put('cors/actual.bin', Buffer.from('hello'), { headers: { Origin: APP } } as never);
    const h = put.res.headers as Record<string, string>;
    assert.equal(h['access-control-allow-origin'], APP);
    assert.ok(exposed(h).includes('etag') && exposed(h).includes('x-oss-hash-crc64ecma'));
    assert.ok(h.etag, 'the ETag the browser must read');

    const denied = await raw(strict.port, 'GET', `/${strict.bucket}/cors/actual.bin`, { Origin: APP });
    assert.equal(denied.status, 403, 'unsigned: refused');
    assert.equal(denied.headers['access-control-allow-origin'], APP, 'the error is readable by the page');
    assert.ok(exposed(denied.headers).includes('x-oss-request-id'));

    const foreign = await raw(strict.port, 'GET', `/${strict.bucket}/cors/actual.bin`, { Origin: EVIL });
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
    assert.equal(foreign.headers['access-control-expose-headers'], undefined);
  });

  test('virtual-hosted requests get the same rule', async () => {
    const host = `${strict.bucket}.localhost:${strict.port}`;
    const res = await raw(strict.port, 'OPTIONS', '/cors/vhost.bin', { Host: host, ...preflightHeaders('http://localhost:5173') });
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], 'http://localhost:5173');
  });
});

describe('POP (VOD) CORS', () => {
  test('preflights for POP requests are answered by the same rule, in POP JSON when refused', async () => {
    const acs = 'x-acs-action,x-acs-version,x-acs-date,x-acs-signature-nonce,x-acs-content-sha256,x-acs-security-token,authorization';
    const ok = await raw(strict.port, 'OPTIONS', '/', preflightHeaders(APP, 'POST', acs));
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], APP);
    assert.equal(ok.headers['access-control-allow-headers'], acs);

    const refused = await raw(strict.port, 'OPTIONS', '/?Action=CreateUploadVideo&Version=2017-03-21', preflightHeaders(EVIL, 'GET', ''));
    assert.equal(refused.status, 403);
    assert.equal((JSON.parse(refused.body) as { Code: string }).Code, 'AccessForbidden');
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
  });

  test('POP answers carry ACAO for an allowed origin: the web SDK GET and an error alike', async () => {
    const url = new URL(webSdkVodUrl(strict, creds, 'CreateUploadVideo', { Title: 'cors', FileName: 'cors.mp4' }));
    const created = await raw(strict.port, 'GET', url.pathname + url.search, { Origin: APP });
    assert.equal(created.status, 200, created.body);
    assert.equal(created.headers['access-control-allow-origin'], APP);

    const unsigned = await raw(strict.port, 'GET', '/?Action=CreateUploadVideo&Version=2017-03-21', { Origin: APP });
    assert.equal(unsigned.status, 400);
    assert.equal(unsigned.headers['access-control-allow-origin'], APP);
    const foreign = await raw(strict.port, 'GET', '/?Action=CreateUploadVideo&Version=2017-03-21', { Origin: EVIL });
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
  });
});
