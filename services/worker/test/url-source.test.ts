import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { AppError, createLogger } from '@vod-ingest/shared';
import { spoolUrlSource, type SpoolUrlOptions } from '../src/sources/url-source.js';

const MiB = 1024 * 1024;
const servers: Server[] = [];
let spoolDir: string;

/** A local origin; `listen()` without a host takes both 127.0.0.1 and ::1, so `localhost` works either way. */
async function origin(handler: RequestListener): Promise<{ port: number; local: (p: string) => string; ip: (p: string) => string }> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as AddressInfo;
  return { port, local: (p) => `http://localhost:${port}${p}`, ip: (p) => `http://127.0.0.1:${port}${p}` };
}

function spool(url: string, extra: Partial<SpoolUrlOptions> = {}) {
  return spoolUrlSource({ url, spoolDir, policy: { allowlist: ['localhost', '127.0.0.1'] }, ...extra });
}

async function rejectsWith(p: Promise<unknown>, code: string, retryable: boolean): Promise<AppError> {
  const err = await p.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AppError, `not an AppError: ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.equal(err.retryable, retryable, `${code} retryable`);
  return err;
}

const spoolIsEmpty = () => assert.deepEqual(readdirSync(spoolDir), [], 'temp file left behind');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Writes `body` in 64 KiB pieces, with or without a Content-Length. */
function serve(res: import('node:http').ServerResponse, body: Buffer, withLength = true): void {
  res.writeHead(200, withLength ? { 'content-length': body.length } : {});
  for (let i = 0; i < body.length; i += 64 * 1024) res.write(body.subarray(i, i + 64 * 1024));
  res.end();
}

beforeEach(() => {
  spoolDir = mkdtempSync(path.join(tmpdir(), 'url-source-'));
});
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
  rmSync(spoolDir, { recursive: true, force: true });
});

describe('spoolUrlSource: download', () => {
  test('a multi-MiB body lands on disk byte for byte and reads back through ByteSource ranges', async () => {
    const body = randomBytes(5 * MiB + 12345);
    const o = await origin((_req, res) => serve(res, body));
    const progress: Array<[number, number | undefined]> = [];
    const spooled = await spool(o.local('/media/clip.mp4'), { onProgress: (n, total) => progress.push([n, total]) });

    assert.equal(spooled.size, body.length);
    assert.equal(spooled.source.size, body.length);
    assert.equal(statSync(spooled.path).mode & 0o777, 0o600);
    assert.equal(path.dirname(spooled.path), spoolDir);
    assert.equal(sha256(await readAll(spooled.source.read(0, body.length))), sha256(body));
    const ranges: Array<[number, number]> = [
      [0, 1],
      [MiB - 7, 3 * MiB + 5],
      [5 * MiB, body.length],
      [12, 12 + 65536],
    ];
    const parts = await Promise.all(ranges.map(([s, e]) => readAll(spooled.source.read(s, e))));
    ranges.forEach(([s, e], i) => assert.ok(parts[i].equals(body.subarray(s, e)), `range ${s}-${e}`));
    assert.deepEqual(progress.at(-1), [body.length, body.length]);
    assert.ok(
      progress.every(([n], i) => i === 0 || n > progress[i - 1][0]),
      'progress grows',
    );

    await spooled.cleanup();
    await spooled.cleanup();
    spoolIsEmpty();
  });

  test('a chunked body (no Content-Length) is spooled whole', async () => {
    const body = randomBytes(2 * MiB + 1);
    const o = await origin((_req, res) => serve(res, body, false));
    const spooled = await spool(o.ip('/x'));
    assert.equal(spooled.size, body.length);
    assert.equal(sha256(await readAll(spooled.source.read(0, spooled.size))), sha256(body));
    await spooled.cleanup();
  });
});

describe('spoolUrlSource: headers and redirects', () => {
  test('Authorization reaches the origin, follows a same-origin redirect, and is dropped on a cross-origin one', async () => {
    const seen: Record<string, IncomingHttpHeaders> = {};
    const body = randomBytes(300 * 1024);
    const other = await origin((req, res) => {
      seen[`other${req.url}`] = req.headers;
      serve(res, body);
    });
    const first = await origin((req, res) => {
      seen[`first${req.url}`] = req.headers;
      if (req.url!.startsWith('/a?')) res.writeHead(302, { location: '/b' }).end();
      else if (req.url === '/b') res.writeHead(307, { location: other.ip('/file') }).end();
      else res.writeHead(404).end();
    });
    const lines: string[] = [];
    const log = createLogger('test', { destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }) });
    const headers = { Authorization: 'Bearer s3cr3t-token', 'X-Api-Key': 'k3y-value' };
    const spooled = await spool(first.local('/a?sig=query-secret'), { headers, log });

    assert.equal(seen['first/a?sig=query-secret'].authorization, 'Bearer s3cr3t-token');
    assert.equal(seen['first/b'].authorization, 'Bearer s3cr3t-token', 'same origin keeps the header');
    assert.equal(seen['first/b']['x-api-key'], 'k3y-value');
    assert.equal(seen['other/file'].authorization, undefined, 'cross origin drops Authorization');
    assert.equal(seen['other/file']['x-api-key'], undefined, 'cross origin drops every job header');
    assert.equal(spooled.size, body.length);
    await spooled.cleanup();

    const text = lines.join('');
    assert.match(text, /SourceRedirectFollowed/);
    assert.match(text, /"headersDropped":true/);
    for (const secret of ['s3cr3t-token', 'k3y-value', 'query-secret']) assert.ok(!text.includes(secret), `${secret} logged`);
  });

  test('a redirect to a loopback IP that is not allowlisted is refused before it is dialled', async () => {
    let hit = false;
    const target = await origin((_req, res) => {
      hit = true;
      res.end('x');
    });
    for (const location of [target.ip('/'), `http://[::ffff:127.0.0.1]:${target.port}/`, `http://0x7f.1:${target.port}/`]) {
      const o = await origin((_req, res) => res.writeHead(302, { location }).end());
      await rejectsWith(spool(o.local('/'), { policy: { allowlist: ['localhost'] } }), 'SOURCE_URL_FORBIDDEN_ADDRESS', false);
    }
    assert.equal(hit, false);
    spoolIsEmpty();
  });

  test('a redirect to the metadata address is refused', async () => {
    const o = await origin((_req, res) => res.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end());
    const err = await rejectsWith(spool(o.local('/'), { policy: { allowlist: ['localhost'] } }), 'SOURCE_URL_FORBIDDEN_ADDRESS', false);
    assert.equal(err.status, 403);
  });

  test('a host name that resolves to loopback is refused at connect time when not allowlisted', async () => {
    let hit = false;
    const o = await origin((_req, res) => {
      hit = true;
      res.end('x');
    });
    await rejectsWith(spool(o.local('/'), { policy: { allowlist: [] } }), 'SOURCE_URL_FORBIDDEN_ADDRESS', false);
    assert.equal(hit, false);
  });

  test('a redirect to another scheme is refused; more than 5 hops is refused', async () => {
    const o = await origin((req, res) => {
      if (req.url === '/file') return res.writeHead(302, { location: 'file:///etc/passwd' }).end();
      if (req.url === '/bad') return res.writeHead(302, { location: 'http://exa mple.com:99999/' }).end();
      const n = Number(req.url!.slice(1));
      res.writeHead(302, { location: `/${n + 1}` }).end();
    });
    await rejectsWith(spool(o.local('/file')), 'SOURCE_URL_SCHEME', false);
    await rejectsWith(spool(o.local('/bad')), 'SOURCE_URL_INVALID', false);
    await rejectsWith(spool(o.local('/0')), 'SOURCE_URL_TOO_MANY_REDIRECTS', false);
    spoolIsEmpty();
  });
});

describe('spoolUrlSource: origin errors', () => {
  for (const [status, code, retryable] of [
    [404, 'SOURCE_URL_NOT_FOUND', false],
    [410, 'SOURCE_URL_NOT_FOUND', false],
    [401, 'SOURCE_URL_FORBIDDEN', false],
    [403, 'SOURCE_URL_FORBIDDEN', false],
    [400, 'SOURCE_URL_REJECTED', false],
    [429, 'SOURCE_URL_UNAVAILABLE', true],
    [503, 'SOURCE_URL_UNAVAILABLE', true],
  ] as const) {
    test(`HTTP ${status} → ${code} (retryable: ${retryable})`, async () => {
      const o = await origin((_req, res) => res.writeHead(status).end('nope'));
      await rejectsWith(spool(o.local('/')), code, retryable);
      spoolIsEmpty();
    });
  }

  test('a connection refused is retryable', async () => {
    const o = await origin((_req, res) => res.end());
    const url = o.local('/');
    servers.pop()!.close();
    await rejectsWith(spool(url), 'SOURCE_URL_UNAVAILABLE', true);
  });

  test('a body cut short of its Content-Length is SOURCE_URL_TRUNCATED (retryable)', async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': 2 * MiB });
      res.write(randomBytes(MiB), () => res.destroy());
    });
    const err = await rejectsWith(spool(o.local('/')), 'SOURCE_URL_TRUNCATED', true);
    const [{ received, contentLength }] = err.details as Array<{ received: number; contentLength: number }>;
    assert.equal(contentLength, 2 * MiB);
    assert.ok(received > 0 && received <= MiB, `received ${received}`);
    spoolIsEmpty();
  });
});

describe('spoolUrlSource: limits, cancel and timeouts', () => {
  test('a Content-Length above maxBytes is refused before the body is read', async () => {
    let sent = 0;
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': 64 * MiB });
      const chunk = randomBytes(64 * 1024);
      const pump = () => {
        while (sent < 64 * MiB && res.write(chunk)) sent += chunk.length;
        if (sent < 64 * MiB) res.once('drain', pump);
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    const err = await rejectsWith(spool(o.local('/'), { maxBytes: MiB }), 'SOURCE_TOO_LARGE', false);
    assert.equal(err.status, 413);
    assert.ok(sent < 16 * MiB, `origin sent ${sent} bytes`);
    spoolIsEmpty();
  });

  test('a chunked body that grows past maxBytes is cut and refused', async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write(randomBytes(256 * 1024)), 1);
      res.on('close', () => clearInterval(timer));
    });
    let last = 0;
    await rejectsWith(spool(o.local('/'), { maxBytes: 2 * MiB, onProgress: (n) => (last = n) }), 'SOURCE_TOO_LARGE', false);
    assert.ok(last <= 2 * MiB);
    spoolIsEmpty();
  });

  test('abort mid-download rejects with the reason and removes the temp file', async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': 100 * MiB });
      res.write(randomBytes(MiB)); // then stalls
    });
    const ctl = new AbortController();
    const reason = new Error('job canceled');
    let fileSeen = false;
    const p = spool(o.local('/'), {
      signal: ctl.signal,
      onProgress: (n) => {
        fileSeen ||= readdirSync(spoolDir).length === 1;
        if (n >= 512 * 1024) ctl.abort(reason);
      },
    });
    await assert.rejects(p, (e) => e === reason);
    assert.ok(fileSeen, 'the download was under way');
    spoolIsEmpty();
  });

  test('an already aborted signal sends nothing', async () => {
    let hit = false;
    const o = await origin((_req, res) => {
      hit = true;
      res.end();
    });
    const reason = new Error('stop');
    await assert.rejects(spool(o.local('/'), { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal(hit, false);
  });

  test('an origin that stops sending mid-body hits the idle timeout (retryable)', async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': 10 * MiB });
      res.write(randomBytes(256 * 1024));
    });
    const started = Date.now();
    const err = await rejectsWith(spool(o.local('/'), { idleTimeoutMs: 300 }), 'SOURCE_URL_UNAVAILABLE', true);
    assert.equal(err.status, 504);
    assert.match(err.message, /stalled/);
    assert.ok(Date.now() - started < 5000);
    spoolIsEmpty();
  });

  test('an origin that never answers hits the idle timeout', async () => {
    const o = await origin(() => undefined);
    await rejectsWith(spool(o.local('/'), { idleTimeoutMs: 300 }), 'SOURCE_URL_UNAVAILABLE', true);
  });

  test('a trickle that never stalls still ends at the total timeout', async () => {
    const o = await origin((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('x'), 20);
      res.on('close', () => clearInterval(timer));
    });
    const err = await rejectsWith(spool(o.local('/'), { idleTimeoutMs: 1000, totalTimeoutMs: 400 }), 'SOURCE_URL_UNAVAILABLE', true);
    assert.match(err.message, /did not finish/);
    spoolIsEmpty();
  });
});
