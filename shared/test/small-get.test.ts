import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { getSmall } from '../src/index.js';

let server: Server;
let base: URL;
const sockets = new Set<number>();
before(async () => {
  server = createServer((req, res) => {
    sockets.add(req.socket.remotePort!);
    if (req.url === '/json') {
      res.writeHead(200, { 'content-type': 'application/json', 'x-seen-auth': req.headers.authorization ?? '' });
      res.end(JSON.stringify({ ok: true }));
    } else if (req.url === '/busy') {
      res.writeHead(503, { 'retry-after': '7' });
      res.end('{"error":{"code":"BUSY"}}');
    } else if (req.url === '/huge') {
      res.writeHead(200);
      res.end(Buffer.alloc(2 * 1024 * 1024, 97));
    } else if (req.url === '/slow-body') {
      res.writeHead(200);
      res.write('{"partial":');
      // never ends
    }
    // '/silent': never answers
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
after(() => {
  server.closeAllConnections();
  server.close();
});

test('getSmall answers the status, the headers and the body, on a kept-alive connection', async () => {
  const a = await getSmall(new URL('/json', base), { authorization: 'Bearer s3cret' }, 2000);
  assert.equal(a.status, 200);
  assert.deepEqual(JSON.parse(a.body), { ok: true });
  assert.equal(a.headers['x-seen-auth'], 'Bearer s3cret');
  const b = await getSmall(new URL('/busy', base), {}, 2000);
  assert.equal(b.status, 503);
  assert.equal(b.headers['retry-after'], '7');
  assert.equal(sockets.size, 1, 'both requests went over one connection');
});

test('getSmall gives up on a silent server, a body that never ends, an answer over 1 MiB and a closed port', async () => {
  const t0 = Date.now();
  await assert.rejects(getSmall(new URL('/silent', base), {}, 300), /no answer within 300 ms/);
  await assert.rejects(getSmall(new URL('/slow-body', base), {}, 300), /no answer within 300 ms|aborted/);
  assert.ok(Date.now() - t0 < 2000, 'each timeout holds');
  await assert.rejects(getSmall(new URL('/huge', base), {}, 2000), /longer than 1048576 bytes/);
  await assert.rejects(getSmall(new URL('http://127.0.0.1:1/'), {}, 2000), /ECONNREFUSED/);
});
