import assert from 'node:assert/strict';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileDigest, objectDigest, startStack, writeRandomFile, type Stack } from './stack.js';

const MiB = 1024 * 1024;
const TOKEN = 'Bearer origin-secret-7f3a9c1e5b';
let stack: Stack;
let origin: Server;
let originUrl: string;
let file: string;
before(async () => {
  stack = await startStack({
    workers: 1,
    apiEnv: { SOURCE_HEADERS_KEY: 'tFyRQ9hVg2cmfPzLKWx4e5Ztq2L0GyC0jB4lHjE3eUs=' },
    workerEnv: { SOURCE_HEADERS_KEY: 'tFyRQ9hVg2cmfPzLKWx4e5Ztq2L0GyC0jB4lHjE3eUs=' },
  });
  file = path.join(stack.inbox, 'remote.mp4');
  await writeRandomFile(file, 20 * MiB);
  origin = createServer((req, res) => {
    if (req.headers.authorization !== TOKEN) return void res.writeHead(401).end();
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(statSync(file).size) });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/media/remote.mp4`;
});
after(async () => {
  await stack?.stop();
  await new Promise((r) => origin?.close(r));
});

test('a url source with an Authorization header: downloaded, uploaded to VOD, the header never shown or logged', async () => {
  const r = await stack.submit({ source: { type: 'url', url: originUrl, headers: { Authorization: TOKEN } }, target: { type: 'vod', title: 'Remote' } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.ok(!JSON.stringify(r.body).includes('origin-secret'));
  const job = await stack.waitFor(r.body.id, { timeoutMs: 60_000 });
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.equal(job.result!.size, 20 * MiB);
  assert.equal(job.progress.bytesDownloaded, 20 * MiB, 'the download shows in the progress');
  assert.ok(job.result!.key.endsWith('.mp4'));
  assert.equal(await objectDigest(stack.emu, job.result!.bucket, job.result!.key), await fileDigest(file));
  for (const p of [stack.api, ...stack.workers]) assert.ok(!p.proc.output().includes('origin-secret'), 'the header is in no log');
});

test('a url source whose origin refuses: failed with SOURCE_URL_FORBIDDEN at the first attempt', async () => {
  const r = await stack.submit({
    source: { type: 'url', url: originUrl, headers: { Authorization: 'Bearer wrong' } },
    target: { type: 'oss', bucket: stack.emu.bucket, key: 'remote/denied.mp4' },
  });
  // The api's redirect pre-check is a HEAD; the origin's 401 there is not a redirect, so the job is taken.
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const job = await stack.waitFor(r.body.id, { timeoutMs: 60_000 });
  assert.equal(job.status, 'failed');
  assert.equal(job.error?.code, 'SOURCE_URL_FORBIDDEN');
  assert.equal(job.attempts, 1);
});
