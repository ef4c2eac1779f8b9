import { readFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { demoFiles, demoRoutes } from '../../services/api/src/demo.routes.js';

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css' };

/** The tenant's web site in the tests: the test page and the demo page's scripts, on an origin of its own. */
export interface PageServer {
  origin: string;
  close(): Promise<void>;
}

export async function startPageServer(): Promise<PageServer> {
  const page = (f: string) => fileURLToPath(new URL(`./page/${f}`, import.meta.url));
  const files: Record<string, string> = { ...demoFiles(), 'index.html': page('index.html'), 'test-page.js': page('test-page.js') };
  const server = createServer((req, res) => {
    const name = new URL(String(req.url), 'http://x').pathname.slice(1) || 'index.html';
    if (!Object.hasOwn(files, name)) return void res.writeHead(404).end();
    readFile(files[name]).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

/** The api's demo page (`demoRoutes`) in an app of its own on `port`, with `/v1` forwarded to the api: the page sees one origin, as when app.ts serves it. */
export interface DemoServer extends PageServer {
  /** Every request the page made to its origin. */
  requests: Array<{ method: string; url: string; authorization?: string }>;
}

export async function startDemoServer(apiUrl: string, port: number): Promise<DemoServer> {
  const api = new URL(apiUrl);
  const requests: DemoServer['requests'] = [];
  const app = express();
  app.use((req, _res, next) => (requests.push({ method: req.method, url: req.originalUrl, authorization: req.headers.authorization }), next()));
  app.use(demoRoutes());
  app.use('/v1', (req, res) => {
    const upstream = request({ host: api.hostname, port: api.port, method: req.method, path: req.originalUrl, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  const server = app.listen(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
