import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileDigest, KEYS, objectDigest, until, videoInfo } from '../e2e/stack.js';
import {
  eventsOf,
  skipWithoutChromium,
  startBrowserStack,
  startUpload,
  uploadOutcome,
  type BrowserStack,
  type PageEvent,
  type UploadReply,
} from './harness.js';

// Alibaba's web upload SDK in Chromium, on the tenant's page (another origin than the api),
// uploading through a direct upload with nothing but the upload's client token.
describe('direct uploads from a browser with aliyun-upload-vod', { skip: skipWithoutChromium }, () => {
  let b: BrowserStack;
  // Created first and checked last: client tokens live at least 60 s.
  let shortLived: UploadReply;

  before(async () => {
    b = await startBrowserStack();
    const r = await b.createUpload({ target: { type: 'vod', title: 'Short-lived', fileName: 'short.mp4' }, expiresInSeconds: 60 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    shortLived = r.body;
  });
  after(() => b?.stop());

  const VIDEO_DONE = new Set(['UploadSucc', 'Transcoding', 'Normal']);

  /** Creates a direct upload as the tenant's backend, uploads a ~6 MB file from the page, and checks what a user would. */
  async function uploadFromPage(mode: 'auth' | 'sts') {
    const file = await b.makeFile(`clip-${mode}.mp4`, 6 * 1024 * 1024 + 12_345);
    const created = await b.createUpload({
      target: { type: 'vod', title: `Browser clip (${mode})`, fileName: 'clip.mp4' },
      origin: b.pageOrigin,
      maxBytes: 16 * 1024 * 1024,
      callbackUrl: b.callbacks.url,
      metadata: { mode },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const upload = created.body;
    assert.match(upload.id, /^upl_/);
    assert.match(upload.clientToken, /^ct_/);
    assert.equal(upload.status, 'created');

    const page = await b.openPage(file);
    await startUpload(page, { apiUrl: b.stack.api.url, upload, mode, sdk: { partSize: 1024 * 1024, parallel: 3 } });
    const events = await uploadOutcome(page);
    await page.close();
    const done = events.find((e) => e.type === 'succeeded') as PageEvent;

    // The stored bytes are the file's, read back with the emulator's long-term key.
    assert.ok(done.bucket && done.object && done.videoId, JSON.stringify(done));
    assert.equal(await objectDigest(b.stack.emu, done.bucket, done.object), await fileDigest(file));
    assert.ok(VIDEO_DONE.has((await videoInfo(b.stack, done.videoId)).status));

    // upload.completed, then video.ready: to every endpoint and to the upload's callbackUrl, signed.
    const types = (r: typeof b.hooks) => eventsOf(r, upload.id).map((e) => e.type);
    await until(() => types(b.hooks).includes('video.ready') && types(b.callbacks).includes('video.ready'), 60_000);
    for (const r of [b.hooks, b.callbacks]) {
      assert.deepEqual(types(r), ['upload.completed', 'video.ready']);
      assert.equal(r.rejected, 0);
      const [completed] = eventsOf(r, upload.id) as Array<{ data: { result?: { videoId?: string; size?: number } } }>;
      assert.equal(completed.data.result?.videoId, done.videoId);
    }
    // The client token follows its upload to the end.
    const view = await fetch(`${b.stack.api.url}/v1/uploads/${upload.id}`, { headers: { authorization: `Bearer ${upload.clientToken}` } });
    const body = (await view.json()) as UploadReply;
    assert.equal(body.status, 'ready');
    assert.equal(body.videoId, done.videoId);
    return { upload, done, events };
  }

  test('UploadAuth mode: the page uploads a 6 MB file with setUploadAuthAndAddress; bytes stored, video UploadSucc, upload.completed then video.ready signed', async () => {
    const { done } = await uploadFromPage('auth');
    // The page never signed a VOD request itself: nothing reached VOD's public endpoint.
    assert.ok(!b.front.forwarded.some((f) => f.includes(done.videoId!)), b.front.forwarded.join('\n'));
  });

  test("STS mode, Alibaba's sample: setSTSToken, the SDK calls CreateUploadVideo itself with UserData Extend.uploadId; same outcome", async () => {
    const before = b.front.forwarded.length;
    const { upload, done } = await uploadFromPage('sts');
    const calls = b.front.forwarded.slice(before);
    const create = calls.find((c) => c.includes('Action=CreateUploadVideo'));
    assert.ok(create?.startsWith('GET vod.cn-shanghai.aliyuncs.com /?'), calls.join('\n'));
    const userData = new URL(create!.split(' ')[2], 'https://vod').searchParams.get('UserData');
    assert.deepEqual(JSON.parse(userData ?? '{}'), { Extend: { uploadId: upload.id } });
    assert.ok(done.videoId);
  });

  test('the client token opens its own upload only: not another upload, not jobs, not upload creation', async () => {
    const mine = (await b.createUpload({ target: { type: 'vod', title: 'Mine', fileName: 'a.mp4' } })).body;
    const other = (await b.createUpload({ target: { type: 'vod', title: 'Other', fileName: 'b.mp4' } })).body;
    const call = (method: string, p: string, token: string, body?: unknown) =>
      fetch(`${b.stack.api.url}${p}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    assert.equal((await call('GET', `/v1/uploads/${mine.id}`, mine.clientToken)).status, 200);
    assert.equal((await call('GET', `/v1/uploads/${other.id}`, mine.clientToken)).status, 404);
    assert.equal((await call('GET', `/v1/uploads/${other.id}`, KEYS.acme)).status, 200);
    const job = { source: { type: 'url', url: 'http://127.0.0.1:1/x.mp4' }, target: { type: 'vod', title: 'x' } };
    assert.equal((await call('POST', '/v1/jobs', mine.clientToken, job)).status, 401);
    assert.equal((await call('GET', '/v1/jobs', mine.clientToken)).status, 401);
    assert.equal((await call('POST', '/v1/uploads', mine.clientToken, { target: { type: 'vod', title: 'y', fileName: 'y.mp4' } })).status, 401);
    // upload-auth for one upload names that upload's video, whatever the other upload does.
    const a = (await (await call('POST', '/v1/vod/upload-auth', mine.clientToken)).json()) as { VideoId: string };
    const o = (await (await call('POST', '/v1/vod/upload-auth', other.clientToken)).json()) as { VideoId: string };
    assert.ok(a.VideoId && o.VideoId && a.VideoId !== o.VideoId);
    assert.equal((await call('POST', `/v1/vod/upload-auth/${o.VideoId}/refresh`, mine.clientToken)).status, 404);
    assert.equal((await call('POST', `/v1/vod/upload-auth/${a.VideoId}/refresh`, mine.clientToken)).status, 200);
  });

  test('CORS: the allowed origin gets its headers; another origin gets none, and the browser withholds the answer', async () => {
    const { id, clientToken } = (await b.createUpload({ target: { type: 'vod', title: 'Cors', fileName: 'c.mp4' } })).body;
    const url = `${b.stack.api.url}/v1/uploads/${id}`;
    const preflight = (origin: string) =>
      fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    const get = (origin: string) => fetch(url, { headers: { origin, authorization: `Bearer ${clientToken}` } });
    assert.equal((await preflight(b.pageOrigin)).headers.get('access-control-allow-origin'), b.pageOrigin);
    assert.equal((await get(b.pageOrigin)).headers.get('access-control-allow-origin'), b.pageOrigin);
    const evil = 'http://evil.example';
    const p = await preflight(evil);
    assert.equal(p.headers.get('access-control-allow-origin'), null);
    assert.equal(p.headers.get('access-control-allow-headers'), null);
    assert.equal((await get(evil)).headers.get('access-control-allow-origin'), null);

    // In Chromium: the same page served as http://localhost:<port> is another origin, not allowed.
    const fromPage = async (origin: string) => {
      const page = await b.browser.newPage();
      try {
        await page.goto(`${origin}/`);
        return await page.evaluate(
          (a) =>
            fetch(a.url, { headers: { authorization: `Bearer ${a.token}` } }).then(
              (r) => `status ${r.status}`,
              (e: Error) => `blocked: ${e.name}`,
            ),
          { url, token: clientToken },
        );
      } finally {
        await page.close();
      }
    };
    assert.equal(await fromPage(b.pageOrigin), 'status 200');
    assert.equal(await fromPage(b.pageOrigin.replace('127.0.0.1', 'localhost')), 'blocked: TypeError');
  });

  test("the api's demo page: the API key from the URL fragment creates the upload, the SDK uploads with the client token only, the page shows the parts, upload.completed and video.ready", async () => {
    const origin = b.stack.api.url;
    const file = await b.makeFile('holiday.mp4', 3 * 1024 * 1024 + 5);
    const beacons = b.front.beacons.length;
    const page = await b.browser.newPage();
    const requests: Array<{ method: string; url: string; authorization?: string }> = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.origin === origin) requests.push({ method: r.method(), url: url.pathname + url.search, authorization: r.headers().authorization });
    });
    try {
      await page.goto(`${origin}/demo`);
      assert.equal(page.url(), `${origin}/demo/`);
      assert.equal(await page.isVisible('#no-key'), true);
      assert.equal(await page.isDisabled('#go'), true);

      await page.goto(`${origin}/demo/#key=${KEYS.acme}`);
      await page.reload();
      assert.equal(await page.isVisible('#no-key'), false);
      await page.setInputFiles('#file', file);
      await page.fill('#title', 'Holiday');
      await page.click('#go');
      await page.locator('#log li', { hasText: 'video.ready' }).waitFor({ timeout: 60_000 });
      const log = await page.locator('#log li').allTextContents();
      const at = (s: string) => log.findIndex((l) => l.includes(s));
      assert.ok(at('SDK: upload succeeded') >= 0 && at('SDK: upload succeeded') < at('video.ready'), log.join('\n'));
      assert.ok(at('upload.completed') >= 0 && at('upload.completed') < at('video.ready'), log.join('\n'));
      assert.match(String(await page.textContent('#parts')), /^4 parts of 1\.0 MiB done \(multipart upload \w+\)$/);
      assert.equal(await page.textContent('#percent'), '100%');
      // Its Content-Security-Policy keeps the SDK's telemetry (file names, bucket, key) in the browser.
      assert.equal(b.front.beacons.length, beacons);

      // The key went out once, in the Authorization of POST /v1/uploads; never in a URL.
      assert.ok(requests.every((r) => !r.url.includes(KEYS.acme)));
      const withKey = requests.filter((r) => r.authorization === `Bearer ${KEYS.acme}`).map((r) => `${r.method} ${r.url}`);
      assert.deepEqual(withKey, ['POST /v1/uploads']);
      const uploadAuth = requests.filter((r) => r.url === '/v1/vod/upload-auth');
      assert.ok(uploadAuth.length === 1 && uploadAuth[0].authorization?.startsWith('Bearer ct_'), JSON.stringify(uploadAuth));

      const id = /upl_\w+/.exec(log[0])?.[0];
      const view = (await (await fetch(`${b.stack.api.url}/v1/uploads/${id}`, { headers: { authorization: `Bearer ${KEYS.acme}` } })).json()) as UploadReply & {
        result?: { size?: number; videoId?: string };
      };
      assert.equal(view.status, 'ready');
      assert.equal(view.target.title, 'Holiday');
      assert.equal(view.result?.size, 3 * 1024 * 1024 + 5);
      const { videos } = await b.stack.emu.admin<{ videos: Array<{ videoId: string; bucket: string; object: string }> }>('GET', 'videos');
      const video = videos.find((v) => v.videoId === view.videoId)!;
      assert.equal(await objectDigest(b.stack.emu, video.bucket, video.object), await fileDigest(file));
    } finally {
      await page.close();
    }
  });

  test('an expired client token is 401 everywhere', async () => {
    const left = Date.parse(shortLived.expiresAt) - Date.now();
    if (left > 0) await new Promise((r) => setTimeout(r, left + 1000));
    for (const [method, p] of [
      ['GET', `/v1/uploads/${shortLived.id}`],
      ['POST', '/v1/vod/upload-auth'],
      ['POST', '/v1/sts-tokens'],
    ]) {
      const res = await fetch(`${b.stack.api.url}${p}`, { method, headers: { authorization: `Bearer ${shortLived.clientToken}` } });
      assert.equal(res.status, 401, `${method} ${p}`);
    }
    const byKey = await fetch(`${b.stack.api.url}/v1/uploads/${shortLived.id}`, { headers: { authorization: `Bearer ${KEYS.acme}` } });
    assert.equal(((await byKey.json()) as UploadReply).status, 'expired');
  });
});
