import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { demoFiles } from '../../services/api/src/demo.routes.js';

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
