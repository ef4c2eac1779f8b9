import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { OpenApiVodClient, type JobEvent } from '@vod-ingest/shared';
import {
  startEmulator,
  startTestRedis,
  startTokenService,
  writeTenantsFile,
  type TestEmulator,
  type TestRedis,
  type TestService,
} from '@vod-ingest/shared/testing';
import { call, clientOss, KEYS, startApi, type StsTokenReply } from './helpers.js';

const ORIGIN = 'http://127.0.0.1:5555';
const OTHER_ORIGIN = 'http://127.0.0.1:6666';
const CALLBACK_KEY = 'vod-callback-private-key';
const PREFIX = '{vod-ingest}';

let redis: TestRedis;
let emu: TestEmulator;
let token: TestService & { secret: string };
let api: TestService;
let conn: Redis;

before(async () => {
  [redis, emu] = await Promise.all([startTestRedis(), startEmulator()]);
  const TENANTS_FILE = writeTenantsFile({
    acme: { vod: true, oss: [{ bucket: emu.bucket, prefix: 'acme/' }], origins: [ORIGIN] },
    globex: { vod: true, origins: [OTHER_ORIGIN] },
    limited: { vod: true, rateLimits: { credentials: 2 } },
  });
  token = await startTokenService({ emulator: emu, redisUrl: redis.url, env: { TENANTS_FILE } });
  api = await startApi(
    { redisUrl: redis.url, emu, tokenUrl: token.url, tokenSecret: token.secret },
    { TENANTS_FILE, VOD_CALLBACK_KEY: CALLBACK_KEY, API_RATE_LIMIT: '1000' },
  );
  conn = new Redis(redis.url);
});
after(async () => {
  conn?.disconnect();
  await api?.stop();
  await token?.stop();
  await Promise.all([emu?.stop(), redis?.stop()]);
});

interface Created {
  id: string;
  status: string;
  clientToken: string;
  expiresAt: string;
  videoId?: string;
}

async function createUpload(body: Record<string, unknown>, key: string = KEYS.acme): Promise<Created> {
  const r = await call<Created>(api, 'POST', '/v1/uploads', { key, body });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

const vodUpload = () => createUpload({ target: { type: 'vod', title: 'From the browser' }, origin: ORIGIN, maxBytes: 10_000_000 });

/** Every event of a job or upload on the global stream. */
async function eventsOf(id: string): Promise<JobEvent[]> {
  const entries = await conn.xrange(`${PREFIX}:events`, '-', '+');
  return entries.map(([, f]) => JSON.parse(f[f.indexOf('event') + 1]) as JobEvent).filter((e) => e.uploadId === id || e.jobId === id);
}

/** POSTs a VOD event notification as VOD signs it: MD5 of `url|timestamp|key`. */
async function vodEvent(body: Record<string, unknown>, o: { key?: string; timestamp?: number } = {}): Promise<number> {
  const url = `${api.url}/v1/vod/events`;
  const ts = String(o.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = createHash('md5')
    .update(`${url}|${ts}|${o.key ?? CALLBACK_KEY}`)
    .digest('hex');
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-vod-timestamp': ts, 'x-vod-signature': signature },
    body: JSON.stringify(body),
  });
  await res.text();
  return res.status;
}

describe('direct uploads: the client token', () => {
  test('POST /v1/uploads answers 201 with a client token; the upload is created', async () => {
    const u = await vodUpload();
    assert.match(u.id, /^upl_/);
    assert.match(u.clientToken, /^ct_/);
    assert.equal(u.status, 'created');
    assert.ok(Date.parse(u.expiresAt) > Date.now() + 3000_000);
    const view = await call(api, 'GET', `/v1/uploads/${u.id}`, { key: u.clientToken });
    assert.equal(view.status, 200);
    assert.equal(view.body.clientToken, undefined, 'the token is shown once');
    assert.equal((await call(api, 'GET', `/v1/uploads/${u.id}`, { key: KEYS.globex })).status, 404, "another tenant's upload");
  });

  test('refused: a target outside the tenant, an origin it does not allow, a client token creating uploads', async () => {
    const outside = await call(api, 'POST', '/v1/uploads', { key: KEYS.acme, body: { target: { type: 'oss', bucket: emu.bucket, key: 'globex/x.mp4' } } });
    assert.deepEqual([outside.status, outside.body.error?.code], [403, 'TARGET_NOT_ALLOWED']);
    const origin = await call(api, 'POST', '/v1/uploads', { key: KEYS.acme, body: { target: { type: 'vod', title: 't' }, origin: OTHER_ORIGIN } });
    assert.deepEqual([origin.status, origin.body.error?.code], [403, 'ORIGIN_NOT_ALLOWED']);
    const u = await vodUpload();
    assert.equal((await call(api, 'POST', '/v1/uploads', { key: u.clientToken, body: { target: { type: 'vod', title: 't' } } })).status, 401);
  });

  test('it opens its own upload only: no jobs, no other upload, no other video', async () => {
    const u = await vodUpload();
    const other = await vodUpload();
    const job = { source: { type: 'url', url: 'https://example.com/a.mp4' }, target: { type: 'vod', title: 't' } };
    assert.equal((await call(api, 'POST', '/v1/jobs', { key: u.clientToken, body: job })).status, 401);
    assert.equal((await call(api, 'GET', '/v1/jobs', { key: u.clientToken })).status, 401);
    assert.equal((await call(api, 'GET', `/v1/uploads/${other.id}`, { key: u.clientToken })).status, 404);
    const auth = await call<{ VideoId: string }>(api, 'POST', '/v1/vod/upload-auth', { key: other.clientToken, body: { fileName: 'b.mp4' } });
    assert.equal(auth.status, 200);
    assert.equal((await call(api, 'POST', `/v1/vod/upload-auth/${auth.body.VideoId}/refresh`, { key: u.clientToken })).status, 404);
  });

  test("upload-auth: the upload's own fields, one video however often it is asked, refresh of that video only", async () => {
    const u = await vodUpload();
    const first = await call<{ VideoId: string; UploadAddress: string; UploadAuth: string }>(api, 'POST', '/v1/vod/upload-auth', {
      key: u.clientToken,
      body: { fileName: 'clip.mp4', fileSize: 1000 },
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const again = await call<{ VideoId: string }>(api, 'POST', '/v1/vod/upload-auth', { key: u.clientToken });
    assert.equal(again.body.VideoId, first.body.VideoId, 'a second call refreshes the same video');
    const refresh = await call<{ VideoId: string }>(api, 'POST', `/v1/vod/upload-auth/${first.body.VideoId}/refresh`, { key: u.clientToken });
    assert.equal(refresh.body.VideoId, first.body.VideoId);
    const view = await call<{ status: string; videoId: string }>(api, 'GET', `/v1/uploads/${u.id}`, { key: KEYS.acme });
    assert.deepEqual([view.body.status, view.body.videoId], ['uploading', first.body.VideoId]);
    const { videos } = await emu.admin<{ videos: Array<{ videoId: string; title: string }> }>('GET', 'videos');
    assert.equal(videos.find((v) => v.videoId === first.body.VideoId)?.title, 'From the browser');
    const big = await vodUpload();
    const tooBig = await call(api, 'POST', '/v1/vod/upload-auth', { key: big.clientToken, body: { fileName: 'big.mp4', fileSize: 20_000_000 } });
    assert.deepEqual([tooBig.status, tooBig.body.error?.code], [413, 'UPLOAD_TOO_LARGE']);
  });

  test('sts-tokens: an oss upload gets its one object; a vod upload VOD only', async () => {
    const key = 'acme/direct/one.bin';
    const u = await createUpload({ target: { type: 'oss', bucket: emu.bucket, key } });
    const sts = await call<StsTokenReply>(api, 'POST', '/v1/sts-tokens', { key: u.clientToken });
    assert.equal(sts.status, 200);
    const oss = clientOss(sts.body, { endpoint: emu.url, bucket: emu.bucket });
    await oss.put(key, Buffer.from('mine'));
    for (const other of ['acme/direct/two.bin', 'acme/other.bin', 'globex/x.bin']) {
      await assert.rejects(oss.put(other, Buffer.from('no')), { code: 'AccessDenied' }, other);
    }
    const v = await vodUpload();
    const vodSts = (await call<StsTokenReply>(api, 'POST', '/v1/sts-tokens', { key: v.clientToken })).body;
    await assert.rejects(clientOss(vodSts, { endpoint: emu.url, bucket: emu.bucket }).put('acme/x.bin', Buffer.from('no')), { code: 'AccessDenied' });
    const asClient = {
      accessKeyId: vodSts.AccessKeyId,
      accessKeySecret: vodSts.AccessKeySecret,
      securityToken: vodSts.SecurityToken,
      expiration: vodSts.Expiration,
      region: vodSts.Region,
    };
    const ticket = await new OpenApiVodClient({ endpoint: emu.url, region: emu.region }).createUploadVideo(asClient, {
      Title: 'sts mode',
      FileName: 'sts.mp4',
    });
    assert.match(ticket.videoId, /^[0-9a-f]{32}$/);
  });

  test('an oss upload is completed by /complete after the object is checked: upload.completed once; too big fails it', async () => {
    const key = 'acme/direct/complete.bin';
    const u = await createUpload({ target: { type: 'oss', bucket: emu.bucket, key }, maxBytes: 1000 });
    const early = await call(api, 'POST', `/v1/uploads/${u.id}/complete`, { key: u.clientToken });
    assert.deepEqual([early.status, early.body.error?.code], [409, 'UPLOAD_INCOMPLETE']);
    const sts = (await call<StsTokenReply>(api, 'POST', '/v1/sts-tokens', { key: u.clientToken })).body;
    await clientOss(sts, { endpoint: emu.url, bucket: emu.bucket }).put(key, Buffer.alloc(600, 1));
    const done = await call<{ status: string; result: { size: number } }>(api, 'POST', `/v1/uploads/${u.id}/complete`, { key: u.clientToken });
    assert.deepEqual([done.status, done.body.status, done.body.result.size], [200, 'uploaded', 600]);
    assert.equal((await call(api, 'POST', `/v1/uploads/${u.id}/complete`, { key: KEYS.acme })).status, 200, 'again: the same answer');
    assert.deepEqual(
      (await eventsOf(u.id)).map((e) => e.type),
      ['upload.completed'],
    );

    const bigKey = 'acme/direct/big.bin';
    const big = await createUpload({ target: { type: 'oss', bucket: emu.bucket, key: bigKey }, maxBytes: 100 });
    const bigSts = (await call<StsTokenReply>(api, 'POST', '/v1/sts-tokens', { key: big.clientToken })).body;
    await clientOss(bigSts, { endpoint: emu.url, bucket: emu.bucket }).put(bigKey, Buffer.alloc(101, 1));
    const refused = await call<{ status: string; error: { code: string } }>(api, 'POST', `/v1/uploads/${big.id}/complete`, { key: big.clientToken });
    assert.deepEqual([refused.body.status, refused.body.error.code], ['failed', 'UPLOAD_TOO_LARGE']);
    assert.deepEqual(
      (await eventsOf(big.id)).map((e) => e.type),
      ['upload.failed'],
    );
    const vod = await vodUpload();
    assert.equal((await call(api, 'POST', `/v1/uploads/${vod.id}/complete`, { key: vod.clientToken })).status, 409);
  });

  test('an expired client token is a 401', async () => {
    const u = await vodUpload();
    await conn.pexpire(`${PREFIX}:client-token:${createHash('sha256').update(u.clientToken).digest('hex')}`, 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await call(api, 'GET', `/v1/uploads/${u.id}`, { key: u.clientToken })).status, 401);
    assert.equal((await call(api, 'POST', '/v1/sts-tokens', { key: u.clientToken })).status, 401);
  });
});

test("a tenant's own rate limit from the tenants file wins over API_RATE_LIMIT", async () => {
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    const r = await call(api, 'POST', '/v1/sts-tokens', { key: KEYS.limited });
    statuses.push(r.status);
    if (i === 0) assert.equal(r.headers.get('ratelimit-limit'), '2');
  }
  assert.deepEqual(statuses, [200, 200, 429]);
  assert.equal((await call(api, 'POST', '/v1/sts-tokens', { key: KEYS.acme })).status, 200, 'acme keeps API_RATE_LIMIT');
});

describe('CORS on the client endpoints', () => {
  const preflight = (path: string, origin: string) =>
    fetch(`${api.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });

  test('a preflight from an allowed origin is answered before authentication; another origin gets no CORS headers', async () => {
    const ok = await preflight('/v1/vod/upload-auth', ORIGIN);
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /authorization/);
    const bad = await preflight('/v1/vod/upload-auth', 'https://evil.example');
    assert.equal(bad.headers.get('access-control-allow-origin'), null);
    assert.equal((await preflight('/v1/jobs', ORIGIN)).headers.get('access-control-allow-origin'), null, 'jobs are not for browsers');
  });

  test("the answer carries CORS headers only for the caller's own origins; a token bound to an origin refuses another", async () => {
    const u = await vodUpload();
    const mine = await fetch(`${api.url}/v1/uploads/${u.id}`, { headers: { authorization: `Bearer ${u.clientToken}`, origin: ORIGIN } });
    assert.equal(mine.headers.get('access-control-allow-origin'), ORIGIN);
    const bound = await fetch(`${api.url}/v1/sts-tokens`, { method: 'POST', headers: { authorization: `Bearer ${u.clientToken}`, origin: OTHER_ORIGIN } });
    assert.equal(bound.status, 403);
    assert.equal(bound.headers.get('access-control-allow-origin'), null);
    // globex's own origin is not acme's.
    const foreign = await fetch(`${api.url}/v1/sts-tokens`, { method: 'POST', headers: { authorization: `Bearer ${KEYS.acme}`, origin: OTHER_ORIGIN } });
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  });
});

describe('VOD event notifications at /v1/vod/events', () => {
  test('a signed FileUploadComplete then TranscodeComplete: upload.completed, then video.ready, once each even when VOD repeats', async () => {
    const u = await vodUpload();
    const { VideoId } = (await call<{ VideoId: string }>(api, 'POST', '/v1/vod/upload-auth', { key: u.clientToken, body: { fileName: 'a.mp4' } })).body;
    const upload = { EventTime: new Date().toISOString(), EventType: 'FileUploadComplete', VideoId, Size: 1234, FileUrl: 'http://x/a.mp4', Status: 'success' };
    assert.equal(await vodEvent(upload), 200);
    assert.equal(await vodEvent(upload), 200, 'a repeat is acknowledged');
    const done = { EventTime: new Date().toISOString(), EventType: 'TranscodeComplete', VideoId, Status: 'success', StreamInfos: [] };
    assert.equal(await vodEvent(done), 200);
    assert.equal(await vodEvent(done), 200);
    const events = await eventsOf(u.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['upload.completed', 'video.ready'],
    );
    assert.equal(events[0].uploadId, u.id);
    assert.equal(events[0].jobId, undefined);
    assert.equal(events[0].tenant, 'acme');
    const view = await call<{ status: string; result: { size: number } }>(api, 'GET', `/v1/uploads/${u.id}`, { key: KEYS.acme });
    assert.deepEqual([view.body.status, view.body.result.size], ['ready', 1234]);
  });

  test('a wrong signature, a stale timestamp, an unknown VideoId: refused or ignored, no event', async () => {
    const u = await vodUpload();
    const { VideoId } = (await call<{ VideoId: string }>(api, 'POST', '/v1/vod/upload-auth', { key: u.clientToken, body: { fileName: 'a.mp4' } })).body;
    const body = { EventTime: new Date().toISOString(), EventType: 'FileUploadComplete', VideoId, Size: 1, Status: 'success' };
    assert.equal(await vodEvent(body, { key: 'not-the-key' }), 401);
    assert.equal(await vodEvent(body, { timestamp: Math.floor(Date.now() / 1000) - 3600 }), 401);
    assert.equal(await vodEvent({ ...body, VideoId: 'ffffffffffffffffffffffffffffffff' }), 200);
    assert.deepEqual(await eventsOf(u.id), []);
    const unsigned = await fetch(`${api.url}/v1/vod/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(unsigned.status, 401);
  });

  test("a video over the upload's maxBytes fails the upload; a transcode failure is video.failed", async () => {
    const small = await createUpload({ target: { type: 'vod', title: 't' }, maxBytes: 100 });
    const a = (await call<{ VideoId: string }>(api, 'POST', '/v1/vod/upload-auth', { key: small.clientToken, body: { fileName: 'a.mp4' } })).body.VideoId;
    assert.equal(await vodEvent({ EventType: 'FileUploadComplete', VideoId: a, Size: 101, Status: 'success', EventTime: new Date().toISOString() }), 200);
    assert.deepEqual(
      (await eventsOf(small.id)).map((e) => e.type),
      ['upload.failed'],
    );
    const u = await vodUpload();
    const b = (await call<{ VideoId: string }>(api, 'POST', '/v1/vod/upload-auth', { key: u.clientToken, body: { fileName: 'b.mp4' } })).body.VideoId;
    await vodEvent({ EventType: 'FileUploadComplete', VideoId: b, Size: 5, Status: 'success', EventTime: new Date().toISOString() });
    await vodEvent({ EventType: 'TranscodeComplete', VideoId: b, Status: 'fail', ErrorCode: 'InvalidMedia', EventTime: new Date().toISOString() });
    assert.deepEqual(
      (await eventsOf(u.id)).map((e) => e.type),
      ['upload.completed', 'video.failed'],
    );
  });

  test("STS mode: a video the SDK created names its upload in UserData's Extend", async () => {
    const u = await vodUpload();
    const sts = (await call<StsTokenReply>(api, 'POST', '/v1/sts-tokens', { key: u.clientToken })).body;
    const asClient = {
      accessKeyId: sts.AccessKeyId,
      accessKeySecret: sts.AccessKeySecret,
      securityToken: sts.SecurityToken,
      expiration: sts.Expiration,
      region: sts.Region,
    };
    const ticket = await new OpenApiVodClient({ endpoint: emu.url, region: emu.region }).createUploadVideo(asClient, {
      Title: 'sts',
      FileName: 'sts.mp4',
      UserData: JSON.stringify({ Extend: { uploadId: u.id } }),
    });
    assert.equal(
      await vodEvent({
        EventType: 'FileUploadComplete',
        VideoId: ticket.videoId,
        Size: 9,
        Status: 'success',
        Extend: JSON.stringify({ uploadId: u.id }),
        EventTime: new Date().toISOString(),
      }),
      200,
    );
    const view = await call<{ status: string; videoId: string }>(api, 'GET', `/v1/uploads/${u.id}`, { key: u.clientToken });
    assert.deepEqual([view.body.status, view.body.videoId], ['uploaded', ticket.videoId]);
  });
});
