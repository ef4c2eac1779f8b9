import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type OSS from 'ali-oss';
import { getVideoInfo, type TestService } from '@vod-ingest/shared/testing';
import { clientOss, decode, KEYS, leaked, post, startApi, startStack, type Stack, type StsTokenReply } from './helpers.js';

interface UploadAuthReply {
  VideoId: string;
  UploadAddress: string;
  UploadAuth: string;
  RequestId: string;
}
interface UploadAddress {
  Endpoint: string;
  Bucket: string;
  FileName: string;
}
interface UploadAuth {
  AccessKeyId: string;
  AccessKeySecret: string;
  SecurityToken: string;
  Expiration: string;
  ExpireUTCTime: string;
  Region: string;
}

let stack: Stack;
let api: TestService;
let dir: string;
const secrets: string[] = [];
before(async () => {
  stack = await startStack();
  api = await startApi({ redisUrl: stack.redis.url, emu: stack.emu, tokenUrl: stack.token.url, tokenSecret: stack.token.secret }, { API_RATE_LIMIT: '1000' });
  dir = mkdtempSync(path.join(tmpdir(), 'api-upload-auth-'));
});
after(async () => {
  await api?.stop();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** ali-oss as the client SDK sets it up from UploadAddress + UploadAuth. */
function ossFromUploadAuth(reply: UploadAuthReply): { oss: OSS; address: UploadAddress; auth: UploadAuth } {
  const address = decode<UploadAddress>(reply.UploadAddress);
  const auth = decode<UploadAuth>(reply.UploadAuth);
  secrets.push(reply.UploadAuth, auth.AccessKeySecret, auth.SecurityToken);
  const oss = clientOss(auth, { endpoint: address.Endpoint, bucket: address.Bucket });
  return { oss, address, auth };
}

let created: UploadAuthReply;

describe('POST /v1/vod/upload-auth and /refresh', () => {
  test('CreateUploadVideo → ali-oss uploads with UploadAddress/UploadAuth → VOD says UploadSucc', async () => {
    const res = await post<UploadAuthReply>(api, '/v1/vod/upload-auth', {
      key: KEYS.acme,
      body: {
        title: 'Launch clip',
        fileName: 'launch.mp4',
        fileSize: 900_000,
        cateId: 10,
        tags: ['launch', 'demo'],
        description: 'd',
        userData: { source: 'app' },
      },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.deepEqual(Object.keys(res.body).sort(), ['RequestId', 'UploadAddress', 'UploadAuth', 'VideoId']);
    created = res.body;
    const { oss, address, auth } = ossFromUploadAuth(created);
    assert.equal(address.Endpoint, stack.emu.url);
    assert.equal(address.Bucket, stack.emu.vodBucket);
    assert.match(address.FileName, /\.mp4$/);
    assert.match(auth.Expiration, /^\d+$/, 'UploadAuth exactly as VOD wrote it: Expiration in seconds');

    const bytes = randomBytes(900_000);
    const file = path.join(dir, 'launch.mp4');
    writeFileSync(file, bytes);
    await oss.multipartUpload(address.FileName, file, { partSize: 300 * 1024, parallel: 2 });

    // Checked as the app's backend would, with its own key: the tenant-scoped STS token from this
    // api allows the upload flow only, not reading videos (GetVideoInfo cannot be narrowed to a tenant).
    const sts = (await post<StsTokenReply>(api, '/v1/sts-tokens', { key: KEYS.acme })).body;
    secrets.push(sts.AccessKeySecret, sts.SecurityToken);
    const vod = { endpoint: stack.emu.url, region: stack.emu.region };
    const asClient = {
      accessKeyId: sts.AccessKeyId,
      accessKeySecret: sts.AccessKeySecret,
      securityToken: sts.SecurityToken,
      expiration: sts.Expiration,
      region: sts.Region,
    };
    await assert.rejects(getVideoInfo(vod, asClient, created.VideoId), { code: 'Forbidden.RAM' });
    const backend = {
      accessKeyId: stack.emu.accessKeyId,
      accessKeySecret: stack.emu.accessKeySecret,
      securityToken: '',
      expiration: new Date(Date.now() + 3600_000).toISOString(),
      region: stack.emu.region,
    };
    const info = await getVideoInfo(vod, backend, created.VideoId);
    assert.deepEqual([info.status, info.size, info.title], ['UploadSucc', bytes.length, 'Launch clip']);

    // The camelCase fields reached VOD as its PascalCase parameters.
    const { videos } = await stack.emu.admin<{ videos: Array<Record<string, unknown>> }>('GET', 'videos');
    const video = videos.find((v) => v.videoId === created.VideoId)!;
    assert.deepEqual([video.cateId, video.tags, video.fileSize, video.description, video.userData], [10, 'launch,demo', 900_000, 'd', '{"source":"app"}']);
  });

  test('/refresh answers new credentials for the same VideoId that write the same object', async () => {
    const res = await post<UploadAuthReply>(api, `/v1/vod/upload-auth/${created.VideoId}/refresh`, { key: KEYS.acme });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.body.VideoId, created.VideoId);
    const first = ossFromUploadAuth(created);
    const fresh = ossFromUploadAuth(res.body);
    assert.deepEqual(fresh.address, first.address);
    assert.notEqual(fresh.auth.AccessKeyId, first.auth.AccessKeyId);
    await fresh.oss.put(fresh.address.FileName, Buffer.from('second take'));
    assert.equal((await fresh.oss.get(fresh.address.FileName)).content.toString(), 'second take');
  });

  test('another tenant, an unknown VideoId → 404 VIDEO_NOT_FOUND; a malformed one → 400', async () => {
    for (const [key, id] of [
      [KEYS.globex, created.VideoId],
      [KEYS.acme, 'f'.repeat(32)],
    ]) {
      const res = await post(api, `/v1/vod/upload-auth/${id}/refresh`, { key });
      assert.equal(res.status, 404);
      assert.equal(res.body.error?.code, 'VIDEO_NOT_FOUND');
      assert.equal(res.body.UploadAuth, undefined);
    }
    for (const id of ['bad-id', 'x'.repeat(65), 'a.b']) {
      const res = await post(api, `/v1/vod/upload-auth/${id}/refresh`, { key: KEYS.acme });
      assert.equal(res.status, 400, id);
      assert.equal(res.body.error?.code, 'VALIDATION_FAILED');
      assert.equal(res.body.error?.details[0].field, 'videoId');
    }
  });
});

describe('malformed upload-auth requests', () => {
  const ok = { title: 'Clip', fileName: 'clip.mp4' };
  const cases: Array<{ name: string; body?: unknown; headers?: Record<string, string>; status: number; code: string; fields?: string[] }> = [
    { name: 'missing title', body: { fileName: 'clip.mp4' }, status: 400, code: 'VALIDATION_FAILED', fields: ['title'] },
    { name: 'blank title', body: { ...ok, title: '   ' }, status: 400, code: 'VALIDATION_FAILED', fields: ['title'] },
    {
      name: 'title over 128 bytes (65 two-byte characters)',
      body: { ...ok, title: 'é'.repeat(65) },
      status: 400,
      code: 'VALIDATION_FAILED',
      fields: ['title'],
    },
    { name: 'missing fileName', body: { title: 'Clip' }, status: 400, code: 'VALIDATION_FAILED', fields: ['fileName'] },
    { name: 'fileName without extension', body: { ...ok, fileName: 'clip' }, status: 400, code: 'VALIDATION_FAILED', fields: ['fileName'] },
    { name: 'fileName ending in a dot', body: { ...ok, fileName: 'clip.' }, status: 400, code: 'VALIDATION_FAILED', fields: ['fileName'] },
    { name: 'tags not an array', body: { ...ok, tags: 'a,b' }, status: 400, code: 'VALIDATION_FAILED', fields: ['tags'] },
    { name: '17 tags', body: { ...ok, tags: Array.from({ length: 17 }, (_, i) => `t${i}`) }, status: 400, code: 'VALIDATION_FAILED', fields: ['tags'] },
    { name: 'a tag with a comma', body: { ...ok, tags: ['a', 'b,c'] }, status: 400, code: 'VALIDATION_FAILED', fields: ['tags.1'] },
    { name: 'fileSize as a string', body: { ...ok, fileSize: '100' }, status: 400, code: 'VALIDATION_FAILED', fields: ['fileSize'] },
    { name: 'cateId not an integer', body: { ...ok, cateId: 1.5 }, status: 400, code: 'VALIDATION_FAILED', fields: ['cateId'] },
    { name: 'userData a string', body: { ...ok, userData: '{}' }, status: 400, code: 'VALIDATION_FAILED', fields: ['userData'] },
    { name: 'coverUrl not http(s)', body: { ...ok, coverUrl: 'javascript:alert(1)' }, status: 400, code: 'VALIDATION_FAILED', fields: ['coverUrl'] },
    {
      name: 'several problems at once',
      body: { title: 5, fileName: 'x', tags: [1] },
      status: 400,
      code: 'VALIDATION_FAILED',
      fields: ['fileName', 'tags.0', 'title'],
    },
    { name: 'an unknown field', body: { ...ok, filename: 'typo.mp4' }, status: 400, code: 'VALIDATION_FAILED', fields: ['(body)'] },
    { name: 'an array body', body: [ok], status: 400, code: 'VALIDATION_FAILED', fields: ['(body)'] },
    { name: 'no body', status: 400, code: 'VALIDATION_FAILED', fields: ['(body)'] },
    { name: 'invalid JSON', body: '{"title": "Clip", ', status: 400, code: 'INVALID_JSON' },
    { name: 'a JSON string, not an object', body: '"clip.mp4"', status: 400, code: 'INVALID_JSON' },
    { name: 'a text/plain body', body: 'title=Clip', headers: { 'content-type': 'text/plain' }, status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' },
    { name: 'a 100 KiB body', body: { ...ok, description: 'x'.repeat(100 * 1024) }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.status} ${c.code}`, async () => {
      const res = await post(api, '/v1/vod/upload-auth', { key: KEYS.acme, body: c.body, headers: c.headers });
      assert.equal(res.status, c.status, JSON.stringify(res.body));
      assert.equal(res.body.error?.code, c.code);
      if (c.fields) assert.deepEqual([...new Set(res.body.error!.details.map((d) => d.field))].sort(), c.fields);
      assert.equal(res.body.VideoId, undefined);
    });
  }

  test('after all of them the service is healthy and a good request works', async () => {
    const before = (await stack.emu.stats()).requests.CreateUploadVideo ?? 0;
    assert.equal((await fetch(`${api.url}/healthz`)).status, 200);
    const res = await post<UploadAuthReply>(api, '/v1/vod/upload-auth', { key: KEYS.acme, body: ok });
    assert.equal(res.status, 200);
    ossFromUploadAuth(res.body);
    assert.equal((await stack.emu.stats()).requests.CreateUploadVideo, before + 1, 'only the good request reached VOD');
  });
});

test('no API key, UploadAuth or credential appears in the api output; events name tenant and VideoId', () => {
  const out = api.proc.output();
  assert.match(out, new RegExp(`"tenant":"acme","videoId":"${created.VideoId}","msg":"UploadAuthCreated"`));
  assert.match(out, /"msg":"UploadAuthRefreshed"/);
  assert.equal(leaked(out, [...Object.values(KEYS), stack.token.secret, ...secrets]), undefined);
});
