import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { isForbiddenAddress } from '../src/sources/address.js';
import { probeUrl } from '../src/sources/guarded-request.js';
import { checkUrlTarget } from '../src/sources/url-guard.js';

let server: Server;
let port: number;
const seen: Array<{ url: string; method: string; authorization?: string }> = [];
before(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url!, method: req.method!, authorization: req.headers.authorization });
    const to: Record<string, string> = {
      '/to-metadata': 'http://169.254.169.254/latest/meta-data/',
      '/to-private': 'http://10.0.0.5/x',
      '/to-file': 'file:///etc/passwd',
      '/to-ok': '/final',
      '/to-other-origin': `http://localhost:${port}/final`,
      '/loop': '/loop',
    };
    if (to[req.url!]) res.writeHead(302, { location: to[req.url!] });
    else res.writeHead(200);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});
after(() => server.close());

test('forbidden address ranges, IPv4 and IPv6', () => {
  for (const a of [
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.100.100.200',
    '0.0.0.0',
    '::1',
    '::',
    'fd00::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '224.0.0.1',
    '::7f00:1',
    '::ffff:0:7f00:1',
    '64:ff9b::7f00:1',
    '2002:7f00:1::',
  ]) {
    assert.ok(isForbiddenAddress(a), a);
  }
  for (const a of ['8.8.8.8', '47.100.1.1', '2400:3200::1']) assert.ok(!isForbiddenAddress(a), a);
});

test('URLs refused before anything is sent, each with a specific code', async () => {
  const cases: Array<[string, string]> = [
    ['not a url', 'SOURCE_URL_INVALID'],
    ['file:///etc/passwd', 'SOURCE_URL_SCHEME'],
    ['ftp://example.com/a', 'SOURCE_URL_SCHEME'],
    ['gopher://127.0.0.1:6379/_FLUSHALL', 'SOURCE_URL_SCHEME'],
    ['http://user:pw@example.com/a', 'SOURCE_URL_CREDENTIALS'],
    ['http://169.254.169.254/latest/meta-data/', 'SOURCE_URL_FORBIDDEN_ADDRESS'],
    ['http://100.100.100.200/latest/meta-data/', 'SOURCE_URL_FORBIDDEN_ADDRESS'],
    ['http://127.0.0.1:6379/', 'SOURCE_URL_FORBIDDEN_ADDRESS'],
    ['http://2130706433/', 'SOURCE_URL_FORBIDDEN_ADDRESS'], // 127.0.0.1 in decimal
    ['http://0x7f.1/', 'SOURCE_URL_FORBIDDEN_ADDRESS'],
    ['http://[::1]/', 'SOURCE_URL_FORBIDDEN_ADDRESS'],
    ['http://[::ffff:10.0.0.1]/', 'SOURCE_URL_FORBIDDEN_ADDRESS'],
    ['http://[::127.0.0.1]/', 'SOURCE_URL_FORBIDDEN_ADDRESS'], // IPv4-compatible
    ['http://[::ffff:0:127.0.0.1]/', 'SOURCE_URL_FORBIDDEN_ADDRESS'], // IPv4-translated
    ['http://localhost/', 'SOURCE_URL_FORBIDDEN_ADDRESS'],
  ];
  for (const [url, code] of cases) {
    await assert.rejects(checkUrlTarget(url, { allowlist: [] }), (e: { code?: string }) => (assert.equal(e.code, code, url), true));
  }
});

test('allowlisted hosts pass; every redirect hop is checked again', async () => {
  const policy = { allowlist: ['127.0.0.1'] };
  const base = `http://127.0.0.1:${port}`;
  assert.equal((await probeUrl(`${base}/to-ok`, policy)).url.pathname, '/final');
  await assert.rejects(probeUrl(`${base}/to-metadata`, policy), (e: { code?: string }) => e.code === 'SOURCE_URL_FORBIDDEN_ADDRESS');
  await assert.rejects(probeUrl(`${base}/to-private`, policy), (e: { code?: string }) => e.code === 'SOURCE_URL_FORBIDDEN_ADDRESS');
  await assert.rejects(probeUrl(`${base}/to-file`, policy), (e: { code?: string }) => e.code === 'SOURCE_URL_SCHEME');
  await assert.rejects(probeUrl(`${base}/loop`, policy), (e: { code?: string }) => e.code === 'SOURCE_URL_TOO_MANY_REDIRECTS');
  await assert.rejects(probeUrl(`${base}/to-ok`, { allowlist: [] }), (e: { code?: string }) => e.code === 'SOURCE_URL_FORBIDDEN_ADDRESS');
});

test('the probe HEADs each hop; headers go to the first origin only; a name resolving to loopback is refused at connect time', async () => {
  const base = `http://127.0.0.1:${port}`;
  seen.length = 0;
  const res = await probeUrl(`${base}/to-other-origin`, { allowlist: ['127.0.0.1', 'localhost'] }, { headers: { Authorization: 'Bearer t0ken' } });
  assert.equal(res.url.href, `http://localhost:${port}/final`);
  assert.equal(res.statusCode, 200);
  assert.deepEqual(seen, [
    { url: '/to-other-origin', method: 'HEAD', authorization: 'Bearer t0ken' },
    { url: '/final', method: 'HEAD', authorization: undefined },
  ]);

  seen.length = 0;
  await assert.rejects(
    probeUrl(`http://localhost:${port}/final`, { allowlist: [] }),
    (e: { code?: string; status?: number }) => e.code === 'SOURCE_URL_FORBIDDEN_ADDRESS' && e.status === 403,
  );
  await assert.rejects(probeUrl(`${base}/to-other-origin`, { allowlist: ['127.0.0.1'] }), (e: { code?: string }) => e.code === 'SOURCE_URL_FORBIDDEN_ADDRESS');
  assert.deepEqual(
    seen.map((s) => s.url),
    ['/to-other-origin'],
    'localhost was never requested',
  );
});
