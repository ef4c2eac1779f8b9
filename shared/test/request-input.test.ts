import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Router } from 'express';
import { AlibabaError, mapPopError } from '../src/alibaba/pop-client.js';
import { mapOssError } from '../src/alibaba/object-store.js';
import { isProgrammingError, isRetryable } from '../src/errors.js';
import { createBaseApp, finishApp } from '../src/http/app-kit.js';
import { jsonTooDeep } from '../src/http/json-depth.js';
import { createRegistry } from '../src/http/metrics.js';
import { listen } from '../src/http/server.js';
import { jsonValueProblem } from '../src/jobs/text-rules.js';
import { toCreateUploadVideoParams, vodFileNameProblem, vodVideoFields } from '../src/jobs/vod-fields.js';
import { createLogger } from '../src/logger.js';

// The shared halves of "no 500 and no retry for a client's mistake": the base app every service
// is built on, the SDK error mapping, and the one VOD field schema.

describe('createBaseApp / finishApp: malformed path escapes and deep JSON', () => {
  let server: Server;
  let base: string;
  const logs: string[] = [];
  before(async () => {
    const log = createLogger('test', { destination: new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }) });
    const app = createBaseApp({ log, registry: createRegistry('test'), readiness: {} });
    const nested = Router();
    nested.get('/v1/things/:thingId/parts/:partNo', (req, res) => void res.json(req.params));
    app.use(nested);
    app.get('/v1/profiles/:profile', (req, res) => void res.json(req.params));
    app.post('/v1/echo', (req, res) => void res.json({ ok: true, body: req.body }));
    finishApp(app, log);
    const l = await listen(app, 0, '127.0.0.1');
    server = l.server;
    base = `http://127.0.0.1:${l.port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const get = async (p: string) => {
    const res = await fetch(`${base}${p}`);
    return { status: res.status, body: (await res.json()) as { error?: { code: string; details: Array<{ field: string }> } } };
  };
  const post = async (body: string | Buffer, type = 'application/json') => {
    const res = await fetch(`${base}/v1/echo`, { method: 'POST', headers: { 'content-type': type }, body });
    return { status: res.status, body: (await res.json()) as { ok?: boolean; error?: { code: string; details: Array<{ field: string }> } } };
  };

  test('a malformed escape in a parameter is 400 INVALID_PATH naming it, on app and nested-router routes', async () => {
    for (const [p, fields] of [
      ['/v1/profiles/%E0%A4%A', ['profile']],
      ['/v1/things/%ZZ/parts/1', ['thingId']],
      ['/v1/things/ok/parts/%ED%A0%80', ['partNo']],
      ['/v1/things/%E0/parts/%', ['thingId', 'partNo']],
    ] as const) {
      const res = await get(p);
      assert.equal(res.status, 400, p);
      assert.equal(res.body.error?.code, 'INVALID_PATH', p);
      assert.deepEqual(res.body.error?.details.map((d) => d.field).sort(), [...fields].sort(), p);
    }
    assert.deepEqual((await get('/v1/things/a%20b/parts/2')).body, { thingId: 'a b', partNo: '2' }, 'good escapes still decode');
    assert.doesNotMatch(logs.join(''), /RequestFailed/, 'none of them was a 500');
  });

  test('JSON nested deeper than 32 is 400 JSON_TOO_DEEP before parsing; 32 deep is parsed', async () => {
    const arrays = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    assert.equal((await post(arrays(32))).body.ok, true);
    for (const text of [arrays(33), arrays(5000), `{"a":${'{"b":'.repeat(40)}1${'}'.repeat(40)}}`]) {
      const res = await post(text);
      assert.equal(res.status, 400);
      assert.equal(res.body.error?.code, 'JSON_TOO_DEEP');
    }
    // Brackets inside strings (escaped quotes included) are not nesting.
    const inString = JSON.stringify({ s: `\\"${'['.repeat(100)}`, t: '{'.repeat(100) });
    assert.equal((await post(inString)).body.ok, true);
    // UTF-16 JSON is counted after decoding.
    const utf16 = Buffer.from(`\ufeff${arrays(40)}`, 'utf16le');
    assert.equal((await post(utf16, 'application/json; charset=utf-16le')).body.error?.code, 'JSON_TOO_DEEP');
    assert.doesNotMatch(logs.join(''), /RequestFailed|Maximum call stack/);
  });

  test('jsonTooDeep takes bytes and strings alike', () => {
    assert.equal(jsonTooDeep(Buffer.from('[[["]]]]]]]"]]]'), 3), false);
    assert.equal(jsonTooDeep('[[[[]]]]', 3), true);
    assert.equal(jsonTooDeep('"\\\\"[[[[]]]]', 3), true, 'an escaped backslash ends before the quote');
  });
});

describe('SDK errors: a programming error is never a retryable network error', () => {
  test('openapi-core: URIError (lone surrogate) → INTERNAL_ERROR, not retryable, still an AlibabaError', () => {
    const e = mapPopError(new URIError('URI malformed'));
    assert.ok(e instanceof AlibabaError);
    assert.deepEqual([e.code, e.retryable, e.status], ['INTERNAL_ERROR', false, 500]);
    assert.doesNotMatch(e.message, /Could not reach/);
    for (const err of [new RangeError('Invalid time value'), new TypeError('x is not a function')]) assert.equal(mapPopError(err).retryable, false, err.name);
  });

  test('openapi-core: a reply that is not JSON (SyntaxError) → ALIBABA_BAD_REPLY, retryable; a refused connection → NETWORK_ERROR', () => {
    const bad = mapPopError(new SyntaxError('Unexpected token \'<\', "<html>" is not valid JSON'));
    assert.deepEqual([bad.code, bad.retryable], ['ALIBABA_BAD_REPLY', true]);
    const refused = mapPopError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    assert.deepEqual([refused.code, refused.retryable], ['NETWORK_ERROR', true]);
  });

  test('ali-oss: its re-wrapped TypeError (an Error named TypeError, status -1) → INTERNAL_ERROR; RequestError → NETWORK_ERROR', () => {
    const typeError = Object.assign(new Error('Invalid character in header content ["x-oss-meta-t"]'), { name: 'TypeError', code: 'TypeError', status: -1 });
    assert.deepEqual([mapOssError(typeError).code, mapOssError(typeError).retryable], ['INTERNAL_ERROR', false]);
    const requestError = Object.assign(new Error('connect ECONNREFUSED'), { name: 'RequestError', code: 'RequestError', status: -1 });
    assert.deepEqual([mapOssError(requestError).code, mapOssError(requestError).retryable], ['NETWORK_ERROR', true]);
  });

  test('isProgrammingError / isRetryable', () => {
    for (const err of [
      new URIError('x'),
      new RangeError('x'),
      new TypeError('x'),
      new SyntaxError('x'),
      Object.assign(new TypeError('bad'), { code: 'ERR_INVALID_CHAR' }),
    ]) {
      assert.equal(isProgrammingError(err), true, String(err));
      assert.equal(isRetryable(err), false, String(err));
    }
    const fetchFailed = new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }) });
    assert.equal(isProgrammingError(fetchFailed), false, 'a network failure dressed as a TypeError');
    assert.equal(isRetryable(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), true);
  });
});

describe('the VOD field schema', () => {
  test('toCreateUploadVideoParams: PascalCase, unset and empty fields left out, UserData as JSON', () => {
    const fields = vodVideoFields.parse({ title: '  Clip  ', tags: ['a', 'b'], cateId: 3, appId: 'app-1000000', userData: { k: 'v' } });
    assert.deepEqual(toCreateUploadVideoParams({ ...fields, fileName: 'clip.mp4', fileSize: 10 }), {
      Title: 'Clip',
      FileName: 'clip.mp4',
      FileSize: 10,
      CateId: 3,
      Tags: 'a,b',
      AppId: 'app-1000000',
      UserData: '{"k":"v"}',
    });
    assert.deepEqual(toCreateUploadVideoParams({ title: 'x', fileName: 'a.mp3', tags: [] }), { Title: 'x', FileName: 'a.mp3' });
  });

  test('file names: a media extension in any case, nothing else', () => {
    for (const ok of ['a.mp4', 'A.MOV', 'x.y.mkv', 'voice.M4A', 'clip.m2ts', 'clip.mxf']) assert.equal(vodFileNameProblem(ok), undefined, ok);
    for (const bad of ['clip', 'clip.', '.mp4', 'clip.exe', 'clip.mp4 ', 'a/b.mp4', 'a\\b.mp4', 'a\u0085.mp4']) assert.ok(vodFileNameProblem(bad), bad);
  });

  test('jsonValueProblem walks without recursion and stops at the depth limit', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.deepEqual(jsonValueProblem(deep, { maxDepth: 32 })?.message, 'nested more than 32 levels deep');
    assert.deepEqual(jsonValueProblem({ a: [1, { b: 'x\ud800' }] })?.path, ['a', 1, 'b']);
    assert.equal(jsonValueProblem({ a: 'line\nbreak' }, { plain: false }), undefined);
  });
});
