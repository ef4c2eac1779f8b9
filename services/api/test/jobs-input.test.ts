import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort, type TestService } from '@vod-ingest/shared/testing';
import { KEYS, startApi, startStack, type Stack } from './helpers.js';
import { call, httpServer, ingestFixture, assertNothingRecorded, type IngestFixture } from './jobs.helpers.js';

const PREFIX = '{vit-input}';

let stack: Stack;
let fx: IngestFixture;
let api: TestService;
let bare: TestService;
let redirects: Awaited<ReturnType<typeof httpServer>>;
let privateTarget: Awaited<ReturnType<typeof httpServer>>;
let deadPort: number;

before(async () => {
  stack = await startStack();
  fx = ingestFixture();
  privateTarget = await httpServer((_req, res) => void res.writeHead(200).end());
  // Reached as http://localhost:port (allowlisted); sends its callers where they may not go.
  redirects = await httpServer((req, res) => {
    const to = req.url === '/to-metadata' ? 'http://169.254.169.254/latest/meta-data/' : `http://127.0.0.1:${privateTarget.port}/admin`;
    res.writeHead(302, { location: to }).end();
  });
  deadPort = await freePort();
  const base = { redisUrl: stack.redis.url, emu: stack.emu, tokenUrl: stack.token.url, tokenSecret: stack.token.secret };
  [api, bare] = await Promise.all([
    startApi(base, { INGEST_ROOTS: fx.root, URL_ALLOWLIST: 'localhost', KEY_PREFIX: PREFIX }),
    startApi(base, { KEY_PREFIX: PREFIX }), // no INGEST_ROOTS, no allowlist
  ]);
});
after(async () => {
  await Promise.all([api?.stop(), bare?.stop()]);
  await Promise.all([redirects?.close(), privateTarget?.close()]);
  fx?.remove();
  await stack?.stop();
});

interface Case {
  name: string;
  /** The JSON body, or a function of the fixture giving it; a string is sent verbatim. */
  body: unknown | (() => unknown);
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** For schema and source errors: the field `details` must name. */
  field?: string;
  target?: () => TestService;
}

const vod = { type: 'vod', title: 'Clip' };
const file = (path: string) => ({ source: { type: 'file', path }, target: vod });
const url = (u: string, extra: Record<string, unknown> = {}) => ({ source: { type: 'url', url: u, ...extra }, target: vod });
const withClip = (patch: Record<string, unknown>) => () => ({ ...file(fx.clip), ...patch });
const oss = (patch: Record<string, unknown>) => () => ({ ...file(fx.clip), target: { type: 'oss', bucket: 'media-bucket', key: 'in/clip.mp4', ...patch } });
const upload = (u: Record<string, unknown>) => withClip({ upload: u });

const cases: Case[] = [
  // Body framing
  { name: 'not JSON', body: '{"source": {', status: 400, code: 'INVALID_JSON' },
  { name: 'JSON null', body: 'null', status: 400, code: 'INVALID_JSON' },
  {
    name: 'text/plain body',
    body: () => JSON.stringify(file(fx.clip)),
    headers: { 'content-type': 'text/plain' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  { name: 'form body', body: 'source=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'JSON in Latin-1', body: '{}', headers: { 'content-type': 'application/json; charset=iso-8859-1' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
  { name: 'body over 64 KiB', body: () => ({ ...file(fx.clip), metadata: { pad: 'x'.repeat(70_000) } }), status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'an array', body: [], status: 400, code: 'VALIDATION_FAILED', field: '(body)' },
  // Shape
  { name: 'empty object', body: {}, status: 400, code: 'VALIDATION_FAILED', field: 'source' },
  { name: 'missing target', body: () => ({ source: { type: 'file', path: fx.clip } }), status: 400, code: 'VALIDATION_FAILED', field: 'target' },
  { name: 'missing title', body: withClip({ target: { type: 'vod' } }), status: 400, code: 'VALIDATION_FAILED', field: 'target.title' },
  { name: 'blank title', body: withClip({ target: { type: 'vod', title: '   ' } }), status: 400, code: 'VALIDATION_FAILED', field: 'target.title' },
  { name: 'source is a string', body: { source: '/srv/a.mp4', target: vod }, status: 400, code: 'VALIDATION_FAILED', field: 'source' },
  { name: 'unknown source type', body: { source: { type: 's3', path: '/a' }, target: vod }, status: 400, code: 'VALIDATION_FAILED', field: 'source.type' },
  { name: 'unknown target type', body: withClip({ target: { type: 'youtube', title: 'x' } }), status: 400, code: 'VALIDATION_FAILED', field: 'target.type' },
  { name: 'unknown top-level field', body: withClip({ priority: 1 }), status: 400, code: 'VALIDATION_FAILED', field: '(body)' },
  {
    name: 'unknown source field',
    body: () => ({ source: { type: 'file', path: fx.clip, mode: 'copy' }, target: vod }),
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'source',
  },
  { name: 'path is a number', body: { source: { type: 'file', path: 42 }, target: vod }, status: 400, code: 'VALIDATION_FAILED', field: 'source.path' },
  { name: 'title is a number', body: withClip({ target: { type: 'vod', title: 7 } }), status: 400, code: 'VALIDATION_FAILED', field: 'target.title' },
  {
    name: 'fileName with a slash',
    body: withClip({ target: { type: 'vod', title: 'x', fileName: '../x.mp4' } }),
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'target.fileName',
  },
  {
    name: 'negative cateId',
    body: withClip({ target: { type: 'vod', title: 'x', cateId: -1 } }),
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'target.cateId',
  },
  {
    name: 'tag with a comma',
    body: withClip({ target: { type: 'vod', title: 'x', tags: ['a,b'] } }),
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'target.tags.0',
  },
  { name: 'partSize under 100 KiB', body: upload({ partSize: 1024 }), status: 400, code: 'VALIDATION_FAILED', field: 'upload.partSize' },
  { name: 'partSize not an integer', body: upload({ partSize: 1_048_576.5 }), status: 400, code: 'VALIDATION_FAILED', field: 'upload.partSize' },
  { name: 'parallel 0', body: upload({ parallel: 0 }), status: 400, code: 'VALIDATION_FAILED', field: 'upload.parallel' },
  { name: 'parallel 1000', body: upload({ parallel: 1000 }), status: 400, code: 'VALIDATION_FAILED', field: 'upload.parallel' },
  { name: 'retryCount 11', body: upload({ retryCount: 11 }), status: 400, code: 'VALIDATION_FAILED', field: 'upload.retryCount' },
  { name: 'parallel as a string', body: upload({ parallel: '5' }), status: 400, code: 'VALIDATION_FAILED', field: 'upload.parallel' },
  { name: 'bad bucket name', body: oss({ bucket: 'Bad_Bucket' }), status: 400, code: 'VALIDATION_FAILED', field: 'target.bucket' },
  { name: 'key starting with /', body: oss({ key: '/etc/clip.mp4' }), status: 400, code: 'VALIDATION_FAILED', field: 'target.key' },
  { name: 'oss metadata key in upper case', body: oss({ metadata: { Owner: 'x' } }), status: 400, code: 'VALIDATION_FAILED', field: 'target.metadata.Owner' },
  {
    name: 'metadata over 50 entries',
    body: withClip({ metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) }),
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'metadata',
  },
  {
    name: 'metadata over 4 KiB',
    body: withClip({ metadata: { a: 'x'.repeat(1000), b: 'x'.repeat(1000), c: 'x'.repeat(1000), d: 'x'.repeat(1000), e: 'x'.repeat(200) } }),
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'metadata',
  },
  { name: 'metadata value an object', body: withClip({ metadata: { a: { b: 1 } } }), status: 400, code: 'VALIDATION_FAILED', field: 'metadata.a' },
  {
    name: 'reserved header Host',
    body: url('http://localhost/a.mp4', { headers: { Host: 'internal' } }),
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'source.headers.Host',
  },
  {
    name: 'header value with a newline',
    body: url('http://localhost/a.mp4', { headers: { 'X-Token': 'a\r\nX-Admin: 1' } }),
    status: 400,
    code: 'VALIDATION_FAILED',
    field: 'source.headers.X-Token',
  },
  // File sources
  { name: 'relative path', body: file('inbox/clip.mp4'), status: 400, code: 'SOURCE_PATH_NOT_ABSOLUTE', field: 'source.path' },
  { name: '.. in the path', body: () => file(`${fx.root}/inbox/../../outside/secret.mp4`), status: 403, code: 'SOURCE_PATH_TRAVERSAL' },
  { name: 'outside every root', body: file('/etc/passwd'), status: 403, code: 'SOURCE_OUTSIDE_INGEST_ROOTS' },
  { name: 'device outside the roots', body: file('/dev/null'), status: 403, code: 'SOURCE_OUTSIDE_INGEST_ROOTS' },
  { name: 'symlink escaping the root', body: () => file(fx.escape), status: 403, code: 'SOURCE_SYMLINK_ESCAPE' },
  { name: 'a directory', body: () => file(fx.dir), status: 400, code: 'SOURCE_NOT_REGULAR_FILE', field: 'source.path' },
  { name: 'a FIFO', body: () => file(fx.fifo), status: 400, code: 'SOURCE_NOT_REGULAR_FILE', field: 'source.path' },
  { name: 'a missing file', body: () => file(`${fx.root}/inbox/nope.mp4`), status: 400, code: 'SOURCE_NOT_FOUND', field: 'source.path' },
  { name: 'file source without INGEST_ROOTS', body: () => file(fx.clip), status: 403, code: 'FILE_SOURCES_DISABLED', target: () => bare },
  // URL sources
  { name: 'file:// url', body: url('file:///etc/passwd'), status: 400, code: 'SOURCE_URL_SCHEME', field: 'source.url' },
  { name: 'ftp:// url', body: url('ftp://media.example.com/a.mp4'), status: 400, code: 'SOURCE_URL_SCHEME', field: 'source.url' },
  { name: 'not a URL', body: url('just words'), status: 400, code: 'SOURCE_URL_INVALID', field: 'source.url' },
  { name: 'credentials in the url', body: url('https://user:pass@media.example.com/a.mp4'), status: 400, code: 'SOURCE_URL_CREDENTIALS', field: 'source.url' },
  { name: 'cloud metadata address', body: url('http://169.254.169.254/latest/meta-data'), status: 403, code: 'SOURCE_URL_FORBIDDEN_ADDRESS' },
  { name: 'Alibaba metadata address', body: url('http://100.100.100.200/latest/meta-data'), status: 403, code: 'SOURCE_URL_FORBIDDEN_ADDRESS' },
  { name: 'loopback IPv4', body: () => url(`http://127.0.0.1:${privateTarget.port}/a.mp4`), status: 403, code: 'SOURCE_URL_FORBIDDEN_ADDRESS' },
  { name: 'loopback IPv6', body: url('http://[::1]/a.mp4'), status: 403, code: 'SOURCE_URL_FORBIDDEN_ADDRESS' },
  { name: 'IPv4-mapped loopback', body: url('http://[::ffff:127.0.0.1]/a.mp4'), status: 403, code: 'SOURCE_URL_FORBIDDEN_ADDRESS' },
  { name: 'private 10/8', body: url('http://10.0.0.1/a.mp4'), status: 403, code: 'SOURCE_URL_FORBIDDEN_ADDRESS' },
  { name: 'decimal loopback 2130706433', body: url('http://2130706433/a.mp4'), status: 403, code: 'SOURCE_URL_FORBIDDEN_ADDRESS' },
  {
    name: 'localhost when not allowlisted',
    body: () => url(`http://localhost:${privateTarget.port}/a.mp4`),
    status: 403,
    code: 'SOURCE_URL_FORBIDDEN_ADDRESS',
    target: () => bare,
  },
  { name: 'allowlisted host redirecting to metadata', body: () => url(`${redirects.url}/to-metadata`), status: 403, code: 'SOURCE_URL_FORBIDDEN_ADDRESS' },
  { name: 'allowlisted host redirecting to 127.0.0.1', body: () => url(`${redirects.url}/to-loopback`), status: 403, code: 'SOURCE_URL_FORBIDDEN_ADDRESS' },
  { name: 'unreachable url', body: () => url(`http://localhost:${deadPort}/a.mp4`), status: 400, code: 'SOURCE_URL_UNREACHABLE', field: 'source.url' },
  {
    name: 'headers without SOURCE_HEADERS_KEY',
    body: url('https://media.example.com/a.mp4', { headers: { Authorization: 'Bearer x' } }),
    status: 400,
    code: 'SOURCE_HEADERS_NOT_CONFIGURED',
    field: 'source.headers',
  },
  // Callback
  {
    name: 'callbackUrl to a private address',
    body: withClip({ callbackUrl: 'http://10.1.2.3/hook' }),
    status: 403,
    code: 'CALLBACK_URL_FORBIDDEN_ADDRESS',
    field: 'callbackUrl',
  },
  {
    name: 'callbackUrl to metadata',
    body: withClip({ callbackUrl: 'http://169.254.169.254/hook' }),
    status: 403,
    code: 'CALLBACK_URL_FORBIDDEN_ADDRESS',
    field: 'callbackUrl',
  },
  { name: 'callbackUrl ftp', body: withClip({ callbackUrl: 'ftp://hooks.example.com/x' }), status: 400, code: 'CALLBACK_URL_SCHEME', field: 'callbackUrl' },
  {
    name: 'callbackUrl with credentials',
    body: withClip({ callbackUrl: 'https://u:p@hooks.example.com/x' }),
    status: 400,
    code: 'CALLBACK_URL_CREDENTIALS',
    field: 'callbackUrl',
  },
  // Idempotency-Key
  {
    name: 'Idempotency-Key of 256 characters',
    body: withClip({}),
    headers: { 'idempotency-key': 'k'.repeat(256) },
    status: 400,
    code: 'IDEMPOTENCY_KEY_INVALID',
    field: 'Idempotency-Key',
  },
  {
    name: 'empty Idempotency-Key',
    body: withClip({}),
    headers: { 'idempotency-key': '' },
    status: 400,
    code: 'IDEMPOTENCY_KEY_INVALID',
    field: 'Idempotency-Key',
  },
  {
    name: 'non-ASCII Idempotency-Key',
    body: withClip({}),
    headers: { 'idempotency-key': 'clé' },
    status: 400,
    code: 'IDEMPOTENCY_KEY_INVALID',
    field: 'Idempotency-Key',
  },
  // Auth
  { name: 'no API key', body: withClip({}), headers: { authorization: '' }, status: 401, code: 'UNAUTHORIZED' },
];

describe('POST /v1/jobs refuses malformed requests', () => {
  for (const c of cases) {
    test(`${c.name} → ${c.status} ${c.code}`, async () => {
      const body = typeof c.body === 'function' ? (c.body as () => unknown)() : c.body;
      const res = await call((c.target ?? (() => api))(), 'POST', '/v1/jobs', { key: KEYS.acme, body, headers: c.headers });
      assert.equal(res.status, c.status, JSON.stringify(res.body));
      assert.equal(res.body.error?.code, c.code, JSON.stringify(res.body));
      if (c.field)
        assert.ok(
          res.body.error?.details.some((d) => d.field === c.field),
          `details name ${c.field}: ${JSON.stringify(res.body.error?.details)}`,
        );
    });
  }

  test('afterwards: nothing was recorded or enqueued, and the api is healthy', async () => {
    assert.ok(cases.length >= 40, `${cases.length} cases`);
    await assertNothingRecorded(stack.redis.url, PREFIX);
    for (const s of [api, bare]) assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    assert.doesNotMatch(api.proc.output(), /"level":"error"/);
  });
});
