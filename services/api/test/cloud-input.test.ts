import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestService } from '@vod-ingest/shared/testing';
import { KEYS, startApi, startStack, type Stack } from './helpers.js';
import { call, ingestFixture, assertNothingRecorded, type IngestFixture } from './jobs.helpers.js';

// Input Alibaba Cloud would refuse (or take as junk), and input that used to reach it or to answer
// a 500: each is a 4xx with its own code, naming the field, before anything is recorded, enqueued
// or sent to VOD. The VOD fields are one schema, so every VOD case runs against both endpoints.

const PREFIX = '{vit-cloud-input}';

let stack: Stack;
let fx: IngestFixture;
let api: TestService;

before(async () => {
  stack = await startStack();
  fx = ingestFixture();
  api = await startApi(
    { redisUrl: stack.redis.url, emu: stack.emu, tokenUrl: stack.token.url, tokenSecret: stack.token.secret },
    { INGEST_ROOTS: fx.root, URL_ALLOWLIST: 'localhost', KEY_PREFIX: PREFIX, API_RATE_LIMIT: '10000', JOB_RATE_LIMIT: '10000' },
  );
});
after(async () => {
  await api?.stop();
  fx?.remove();
  await stack?.stop();
});

interface Case {
  name: string;
  method?: string;
  path: string;
  /** The JSON body (a string is sent verbatim), or a function giving it once the fixture exists. */
  body?: unknown;
  status: number;
  code: string;
  /** The field `details` must name. */
  field?: string;
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const nested = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};
/** A JSON text `depth` arrays deep, built as text (JSON.stringify itself would overflow at 5,000). */
const deepArrayText = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
/** The same for objects, as the value of `target.userData`. */
const deepUserDataText = (depth: number, fileName = 'clip.mp4') =>
  `{"title":"Clip","fileName":"${fileName}","userData":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;

/** A VOD field case: `patch` over a valid field set, `field` the VOD field it names. */
interface VodCase {
  name: string;
  patch: Record<string, unknown>;
  field: string;
}

const vodCases: VodCase[] = [
  // title: 1..128 bytes (UTF-8), well-formed, no control characters
  { name: 'title of 300 bytes', patch: { title: 'x'.repeat(300) }, field: 'title' },
  { name: 'title of 129 bytes in 2-byte characters', patch: { title: `${'é'.repeat(64)}a` }, field: 'title' },
  { name: 'title of 129 bytes in 3-byte characters', patch: { title: '字'.repeat(43) }, field: 'title' },
  { name: 'title with a lone high surrogate', patch: { title: 'Clip \ud83c' }, field: 'title' },
  { name: 'title with a lone low surrogate', patch: { title: '\udc00Clip' }, field: 'title' },
  { name: 'title with CR/LF', patch: { title: 'Clip\r\nX-Injected: 1' }, field: 'title' },
  { name: 'title with NUL', patch: { title: 'Clip\u0000' }, field: 'title' },
  { name: 'title with DEL', patch: { title: 'Clip\u007f' }, field: 'title' },
  { name: 'title with a C1 control (U+0085)', patch: { title: 'Clip\u0085' }, field: 'title' },
  // fileName: 1..255 bytes, a media extension, no slash or backslash
  { name: 'fileName without an extension', patch: { fileName: 'clip' }, field: 'fileName' },
  { name: 'fileName ending in .exe', patch: { fileName: 'clip.exe' }, field: 'fileName' },
  { name: 'fileName ending in .mp4.exe', patch: { fileName: 'clip.mp4.exe' }, field: 'fileName' },
  { name: 'fileName that is only an extension', patch: { fileName: '.mp4' }, field: 'fileName' },
  { name: 'fileName with a backslash', patch: { fileName: 'dir\\clip.mp4' }, field: 'fileName' },
  { name: 'fileName with a lone surrogate', patch: { fileName: 'clip\ud800.mp4' }, field: 'fileName' },
  { name: 'fileName with NUL', patch: { fileName: 'clip\u0000.mp4' }, field: 'fileName' },
  { name: 'fileName with LF', patch: { fileName: 'clip\n.mp4' }, field: 'fileName' },
  { name: 'fileName of 256 bytes', patch: { fileName: `${'a'.repeat(252)}.mp4` }, field: 'fileName' },
  // ids
  { name: 'workflowId with CR/LF', patch: { workflowId: 'a1b2c3\r\nd4' }, field: 'workflowId' },
  { name: 'workflowId with NUL', patch: { workflowId: 'a1b2\u0000c3' }, field: 'workflowId' },
  { name: 'workflowId of 65 characters', patch: { workflowId: 'f'.repeat(65) }, field: 'workflowId' },
  { name: 'templateGroupId with a slash', patch: { templateGroupId: '../groups/1' }, field: 'templateGroupId' },
  { name: 'templateGroupId with a lone surrogate', patch: { templateGroupId: 'tg\ud800' }, field: 'templateGroupId' },
  { name: 'appId with a space', patch: { appId: 'app 1000000' }, field: 'appId' },
  // description: at most 1,024 bytes, no control characters
  { name: 'description with CR/LF', patch: { description: 'one\r\ntwo' }, field: 'description' },
  { name: 'description with NUL', patch: { description: 'one\u0000' }, field: 'description' },
  { name: 'description of 1,026 bytes (342 × 3)', patch: { description: '説'.repeat(342) }, field: 'description' },
  { name: 'description with a lone surrogate', patch: { description: 'a\udfffb' }, field: 'description' },
  // tags: at most 16 of 1..32 bytes, no commas
  { name: '17 tags', patch: { tags: Array.from({ length: 17 }, (_, i) => `t${i}`) }, field: 'tags' },
  { name: 'a tag of 33 bytes', patch: { tags: ['ok', `${'é'.repeat(16)}a`] }, field: 'tags.1' },
  { name: 'an empty tag', patch: { tags: [''] }, field: 'tags.0' },
  { name: 'a tag with CR/LF', patch: { tags: ['a\r\nb'] }, field: 'tags.0' },
  { name: 'a tag with NUL', patch: { tags: ['a\u0000'] }, field: 'tags.0' },
  { name: 'a tag with a lone surrogate', patch: { tags: ['ok', 'x\ud800'] }, field: 'tags.1' },
  { name: 'a tag with a comma', patch: { tags: ['a,b'] }, field: 'tags.0' },
  // coverUrl: http(s) only, at most 1,024 bytes
  { name: 'coverUrl javascript:', patch: { coverUrl: 'javascript:alert(document.cookie)' }, field: 'coverUrl' },
  { name: 'coverUrl file:///', patch: { coverUrl: 'file:///etc/passwd' }, field: 'coverUrl' },
  { name: 'coverUrl data:', patch: { coverUrl: 'data:image/png;base64,iVBORw0KGgo=' }, field: 'coverUrl' },
  { name: 'coverUrl ftp://', patch: { coverUrl: 'ftp://img.example.com/c.jpg' }, field: 'coverUrl' },
  { name: 'coverUrl of 1,025 bytes', patch: { coverUrl: `https://img.example.com/${'c'.repeat(1001)}` }, field: 'coverUrl' },
  { name: 'coverUrl with LF', patch: { coverUrl: 'https://img.example.com/\nc.jpg' }, field: 'coverUrl' },
  // storageLocation: a lower-case host name
  { name: 'storageLocation evil.example/../x', patch: { storageLocation: 'evil.example/../x' }, field: 'storageLocation' },
  { name: 'storageLocation with ..', patch: { storageLocation: 'outin-1..oss-cn-shanghai.aliyuncs.com' }, field: 'storageLocation' },
  { name: 'storageLocation in upper case', patch: { storageLocation: 'OUTIN-1.oss-cn-shanghai.aliyuncs.com' }, field: 'storageLocation' },
  { name: 'storageLocation with a scheme', patch: { storageLocation: 'https://outin-1.oss-cn-shanghai.aliyuncs.com' }, field: 'storageLocation' },
  // cateId: a positive integer
  { name: 'negative cateId', patch: { cateId: -1 }, field: 'cateId' },
  { name: 'cateId 0', patch: { cateId: 0 }, field: 'cateId' },
  { name: 'cateId 1.5', patch: { cateId: 1.5 }, field: 'cateId' },
  { name: 'cateId as a string', patch: { cateId: '10' }, field: 'cateId' },
  // userData: an object of at most 1,024 bytes as JSON, its strings clean
  { name: 'userData of 1,025 bytes as JSON', patch: { userData: { pad: 'x'.repeat(1015) } }, field: 'userData' },
  { name: 'userData with a lone surrogate', patch: { userData: { note: 'a\ud800' } }, field: 'userData.note' },
  { name: 'userData with a control character in a key', patch: { userData: { 'k\u0000': 1 } }, field: 'userData.k\u0000' },
  { name: 'userData an array', patch: { userData: [1, 2] }, field: 'userData' },
  { name: 'userData a string', patch: { userData: '{"a":1}' }, field: 'userData' },
];

const vodJob = (patch: Record<string, unknown>) => () => ({ source: { type: 'file', path: fx.clip }, target: { type: 'vod', title: 'Clip', ...patch } });
const ossJob = (patch: Record<string, unknown>) => () => ({
  source: { type: 'file', path: fx.clip },
  target: { type: 'oss', bucket: 'media-bucket', key: 'in/clip.mp4', ...patch },
});
const withClip = (patch: Record<string, unknown>) => () => ({ source: { type: 'file', path: fx.clip }, target: { type: 'vod', title: 'Clip' }, ...patch });
const urlJob = (source: Record<string, unknown>) => ({
  source: { type: 'url', url: 'https://media.example.com/a.mp4', ...source },
  target: { type: 'vod', title: 'Clip' },
});
const bad = (field: string) => ({ status: 400, code: 'VALIDATION_FAILED', field });

const jobCases: Case[] = [
  ...vodCases.map((c) => ({ name: `vod target: ${c.name}`, path: '/v1/jobs', body: vodJob(c.patch), ...bad(`target.${c.field}`) })),
  // OSS keys: 1..1,023 bytes, no leading / or \, no control characters, well-formed
  { name: 'oss key of 1,024 bytes', path: '/v1/jobs', body: ossJob({ key: 'k'.repeat(1024) }), ...bad('target.key') },
  { name: 'oss key of 1,024 bytes in 3-byte characters', path: '/v1/jobs', body: ossJob({ key: `${'鍵'.repeat(341)}k` }), ...bad('target.key') },
  { name: 'oss key with a leading slash', path: '/v1/jobs', body: ossJob({ key: '/in/clip.mp4' }), ...bad('target.key') },
  { name: 'oss key with a leading backslash', path: '/v1/jobs', body: ossJob({ key: '\\in\\clip.mp4' }), ...bad('target.key') },
  { name: 'oss key with a lone surrogate', path: '/v1/jobs', body: ossJob({ key: 'in/\ud800.mp4' }), ...bad('target.key') },
  { name: 'oss key with CR/LF', path: '/v1/jobs', body: ossJob({ key: 'in/a\r\nb.mp4' }), ...bad('target.key') },
  { name: 'oss key with NUL', path: '/v1/jobs', body: ossJob({ key: 'in/a\u0000.mp4' }), ...bad('target.key') },
  { name: 'oss key with a C1 control', path: '/v1/jobs', body: ossJob({ key: 'in/a\u0080.mp4' }), ...bad('target.key') },
  { name: 'empty oss key', path: '/v1/jobs', body: ossJob({ key: '' }), ...bad('target.key') },
  { name: 'oss metadata value Node cannot send as a header', path: '/v1/jobs', body: ossJob({ metadata: { title: '日本' } }), ...bad('target.metadata.title') },
  { name: 'oss metadata value with a lone surrogate', path: '/v1/jobs', body: ossJob({ metadata: { title: 'a\ud800' } }), ...bad('target.metadata.title') },
  { name: 'oss contentType with CR/LF', path: '/v1/jobs', body: ossJob({ contentType: 'video/mp4\r\nX-A: 1' }), ...bad('target.contentType') },
  // Sources
  {
    name: 'source path with a lone surrogate',
    path: '/v1/jobs',
    body: () => ({ ...vodJob({})(), source: { type: 'file', path: `${fx.root}/inbox/\ud800.mp4` } }),
    ...bad('source.path'),
  },
  {
    name: 'source path with NUL',
    path: '/v1/jobs',
    body: () => ({ ...vodJob({})(), source: { type: 'file', path: `${fx.clip}\u0000.txt` } }),
    ...bad('source.path'),
  },
  { name: 'source url with a lone surrogate', path: '/v1/jobs', body: urlJob({ url: 'https://media.example.com/\ud800.mp4' }), ...bad('source.url') },
  {
    name: 'source url with LF (URL parsing would drop it)',
    path: '/v1/jobs',
    body: urlJob({ url: 'https://media.exa\nmple.com/a.mp4' }),
    ...bad('source.url'),
  },
  {
    name: 'source header value with a lone surrogate',
    path: '/v1/jobs',
    body: urlJob({ headers: { 'X-Token': 'a\ud800' } }),
    ...bad('source.headers.X-Token'),
  },
  { name: 'source header value above U+00FF', path: '/v1/jobs', body: urlJob({ headers: { 'X-Token': 'トークン' } }), ...bad('source.headers.X-Token') },
  // The rest of the request
  { name: 'metadata value with a lone surrogate', path: '/v1/jobs', body: withClip({ metadata: { note: 'a\udbff' } }), ...bad('metadata.note') },
  { name: 'metadata key with a lone surrogate', path: '/v1/jobs', body: withClip({ metadata: { 'k\ud800': 1 } }), ...bad('metadata.k\ud800') },
  { name: 'callbackUrl with a lone surrogate', path: '/v1/jobs', body: withClip({ callbackUrl: 'https://hooks.example.com/\ud800' }), ...bad('callbackUrl') },
  { name: 'callbackUrl with CR/LF', path: '/v1/jobs', body: withClip({ callbackUrl: 'https://hooks.example.com/a\r\nb' }), ...bad('callbackUrl') },
  // Nesting
  {
    name: 'userData nested 5,000 deep',
    path: '/v1/jobs',
    body: () =>
      `{"source":{"type":"file","path":${JSON.stringify(fx.clip)}},"target":{"type":"vod","title":"Clip","userData":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}}`,
    status: 400,
    code: 'JSON_TOO_DEEP',
    field: '(body)',
  },
  { name: 'a body 33 arrays deep', path: '/v1/jobs', body: deepArrayText(33), status: 400, code: 'JSON_TOO_DEEP', field: '(body)' },
  {
    name: 'metadata 33 deep',
    path: '/v1/jobs',
    body: () => ({ ...withClip({})(), metadata: nested(32) }),
    status: 400,
    code: 'JSON_TOO_DEEP',
    field: '(body)',
  },
  { name: 'a body 100,000 arrays deep (over the size limit too)', path: '/v1/jobs', body: deepArrayText(100_000), status: 413, code: 'PAYLOAD_TOO_LARGE' },
];

const ok = { title: 'Clip', fileName: 'clip.mp4' };
const uploadAuthCases: Case[] = [
  ...vodCases.map((c) => ({ name: `upload-auth: ${c.name}`, path: '/v1/vod/upload-auth', body: { ...ok, ...c.patch }, ...bad(c.field) })),
  { name: 'upload-auth: no fileName', path: '/v1/vod/upload-auth', body: { title: 'Clip' }, ...bad('fileName') },
  { name: 'upload-auth: fileSize 0', path: '/v1/vod/upload-auth', body: { ...ok, fileSize: 0 }, ...bad('fileSize') },
  {
    name: 'upload-auth: userData nested 5,000 deep',
    path: '/v1/vod/upload-auth',
    body: deepUserDataText(5000),
    status: 400,
    code: 'JSON_TOO_DEEP',
    field: '(body)',
  },
  {
    name: 'upload-auth: userData nested 32 deep (33 with the body)',
    path: '/v1/vod/upload-auth',
    body: deepUserDataText(32),
    status: 400,
    code: 'JSON_TOO_DEEP',
    field: '(body)',
  },
  { name: 'upload-auth: a body 33 arrays deep', path: '/v1/vod/upload-auth', body: deepArrayText(33), status: 400, code: 'JSON_TOO_DEEP', field: '(body)' },
];

const MALFORMED = ['%E0%A4%A', '%ZZ', '%ED%A0%80' /* UTF-8 of a lone surrogate */];
const pathCases: Case[] = MALFORMED.flatMap((id) => [
  { name: `GET /v1/jobs/${id}`, method: 'GET', path: `/v1/jobs/${id}`, status: 400, code: 'INVALID_PATH', field: 'id' },
  { name: `DELETE /v1/jobs/${id}`, method: 'DELETE', path: `/v1/jobs/${id}`, status: 400, code: 'INVALID_PATH', field: 'id' },
  { name: `GET /v1/jobs/${id}/events`, method: 'GET', path: `/v1/jobs/${id}/events`, status: 400, code: 'INVALID_PATH', field: 'id' },
  {
    name: `POST /v1/vod/upload-auth/${id}/refresh`,
    method: 'POST',
    path: `/v1/vod/upload-auth/${id}/refresh`,
    status: 400,
    code: 'INVALID_PATH',
    field: 'videoId',
  },
]);

const cases: Case[] = [...jobCases, ...uploadAuthCases, ...pathCases];

async function send(c: Case) {
  const body = typeof c.body === 'function' ? (c.body as () => unknown)() : c.body;
  return call(api, c.method ?? 'POST', c.path, { key: KEYS.acme, body });
}

describe('input the cloud would refuse is refused at the api, with its own code and field', () => {
  test('the table itself: the byte counts are what the names say', () => {
    assert.equal(bytes(`${'é'.repeat(64)}a`), 129);
    assert.equal(bytes('字'.repeat(43)), 129);
    assert.equal(bytes('説'.repeat(342)), 1026);
    assert.equal(bytes(`${'鍵'.repeat(341)}k`), 1024);
    assert.equal(bytes(`${'é'.repeat(16)}a`), 33);
    assert.equal(bytes(`https://img.example.com/${'c'.repeat(1001)}`), 1025);
    assert.equal(bytes(JSON.stringify({ pad: 'x'.repeat(1015) })), 1025);
  });

  for (const c of cases) {
    test(`${c.name} → ${c.status} ${c.code}`, async () => {
      const res = await send(c);
      assert.equal(res.status, c.status, JSON.stringify(res.body));
      assert.equal(res.body.error?.code, c.code, JSON.stringify(res.body));
      if (c.field)
        assert.ok(
          res.body.error?.details.some((d) => d.field === c.field),
          `details name ${JSON.stringify(c.field)}: ${JSON.stringify(res.body.error?.details)}`,
        );
      assert.equal((res.body as { VideoId?: string }).VideoId, undefined);
    });
  }

  test('afterwards: nothing recorded or enqueued, VOD never asked, no 500 logged, the api healthy', async () => {
    assert.ok(cases.length >= 120, `${cases.length} cases`);
    await assertNothingRecorded(stack.redis.url, PREFIX);
    const stats = await stack.emu.stats();
    assert.equal(stats.requests.CreateUploadVideo ?? 0, 0, 'no CreateUploadVideo reached the emulator');
    assert.equal(stats.requests.RefreshUploadVideo ?? 0, 0, 'no RefreshUploadVideo reached the emulator');
    const { videos } = await stack.emu.admin<{ videos: unknown[] }>('GET', 'videos');
    assert.deepEqual(videos, []);
    assert.equal((await fetch(`${api.url}/healthz`)).status, 200);
    assert.doesNotMatch(api.proc.output(), /"level":"error"|RequestFailed|Maximum call stack/);
  });
});

describe("the limits are the cloud's, not tighter", () => {
  // Exactly at each limit: accepted, and the fields reach VOD as sent.
  const edge = {
    title: `${'é'.repeat(63)}ab`, // 128 bytes
    fileName: `${'a'.repeat(251)}.MP4`, // 255 bytes, extension in upper case
    description: `${'説'.repeat(341)}a`, // 1,024 bytes
    tags: Array.from({ length: 16 }, (_, i) => `${'é'.repeat(15)}${String(i).padStart(2, '0')}`), // 16 × 32 bytes
    coverUrl: `https://img.example.com/${'c'.repeat(1000)}`, // 1,024 bytes
    cateId: 1,
    templateGroupId: 'a'.repeat(64),
    workflowId: '0123456789abcdef0123456789abcdef',
    appId: 'app-1000000',
    storageLocation: `outin-${'0'.repeat(32)}.oss-cn-shanghai.aliyuncs.com`,
    userData: { pad: 'x'.repeat(1014) }, // 1,024 bytes as JSON
  };

  test('every field at its limit: upload-auth answers 200 and VOD got each field as sent', async () => {
    assert.equal(bytes(edge.title), 128);
    assert.equal(bytes(edge.description), 1024);
    assert.ok(edge.tags.every((t) => bytes(t) === 32));
    assert.equal(bytes(JSON.stringify(edge.userData)), 1024);
    const res = await call<{ VideoId: string }>(api, 'POST', '/v1/vod/upload-auth', { key: KEYS.acme, body: edge });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { videos } = await stack.emu.admin<{ videos: Array<Record<string, unknown>> }>('GET', 'videos');
    const video = videos.find((v) => v.videoId === res.body.VideoId)!;
    assert.equal(video.title, edge.title);
    assert.equal(video.tags, edge.tags.join(','));
    assert.equal(video.description, edge.description);
  });

  test('a body 32 deep and brackets inside strings pass the depth check', async () => {
    const title = `${'['.repeat(64)}{`; // not nesting: inside a string
    const body = `{"title":${JSON.stringify(title)},"fileName":"clip.mp4","userData":${'{"a":'.repeat(31)}"]]]}}}"${'}'.repeat(31)}}`;
    const res = await call<{ VideoId: string }>(api, 'POST', '/v1/vod/upload-auth', { key: KEYS.acme, body });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  test('a vod job and an oss job at the limits are accepted', async () => {
    const { fileName: _f, storageLocation: _s, ...target } = edge;
    const vod = await call(api, 'POST', '/v1/jobs', {
      key: KEYS.acme,
      body: { source: { type: 'file', path: fx.clip }, target: { type: 'vod', ...target, fileName: 'clip.mkv' } },
    });
    assert.equal(vod.status, 202, JSON.stringify(vod.body));
    const oss = await call(api, 'POST', '/v1/jobs', {
      key: KEYS.acme,
      body: {
        source: { type: 'file', path: fx.clip },
        target: { type: 'oss', bucket: 'media-bucket', key: `${'鍵'.repeat(340)}ab`, metadata: { owner: 'Café' } },
      },
    });
    assert.equal(oss.status, 202, JSON.stringify(oss.body));
  });
});
