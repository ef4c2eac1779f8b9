import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { createRedis, QUEUES } from '@vod-ingest/shared';
import { startServiceProcess, type TestService } from '@vod-ingest/shared/testing';
import { API_KEYS_ENV, KEYS, startApi, startStack, type Stack } from './helpers.js';
import { call, ingestFixture, inspect, type IngestFixture, type View } from './jobs.helpers.js';

const PREFIX = '{vit-admin}';
const RW_PREFIX = '{vit-admin-rw}';
const TOKEN = `adm-${randomBytes(16).toString('hex')}`;
const CHALLENGE = 'Basic realm="vod-ingest admin"';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });

/** One of bull-board's static files, as its page links it (`/admin/queues/static/...`). */
function staticAsset(): string {
  const ui = path.dirname(createRequire(import.meta.url).resolve('@bull-board/ui/package.json'));
  const js = readdirSync(path.join(ui, 'dist', 'static', 'js')).find((f) => f.endsWith('.js'));
  assert.ok(js, 'bull-board ui ships js');
  return `/admin/queues/static/js/${js}`;
}

async function get(api: TestService, urlPath: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${api.url}${urlPath}`, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

let stack: Stack;
let fx: IngestFixture;
let api: TestService;
let rw: TestService;
let plain: TestService;
let ins: ReturnType<typeof inspect>;
let rwQueue: Queue;
let jobId: string;

before(async () => {
  stack = await startStack();
  fx = ingestFixture();
  const s = { redisUrl: stack.redis.url, emu: stack.emu, tokenUrl: stack.token.url, tokenSecret: stack.token.secret };
  [api, rw, plain] = await Promise.all([
    startApi(s, { INGEST_ROOTS: fx.root, KEY_PREFIX: PREFIX, ADMIN_TOKEN: TOKEN }),
    startApi(s, { KEY_PREFIX: RW_PREFIX, ADMIN_TOKEN: TOKEN, ADMIN_QUEUES_WRITABLE: '1' }),
    startApi(s, { KEY_PREFIX: '{vit-admin-off}' }),
  ]);
  ins = inspect(stack.redis.url, PREFIX);
  rwQueue = new Queue(QUEUES.ingest, { connection: createRedis(stack.redis.url, { name: 'test-rw' }), prefix: RW_PREFIX });
  const res = await call<View>(api, 'POST', '/v1/jobs', {
    key: KEYS.acme,
    body: { source: { type: 'file', path: fx.clip }, target: { type: 'vod', title: 'Clip' } },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  jobId = res.body.id;
});
after(async () => {
  await Promise.all([api?.stop(), rw?.stop(), plain?.stop()]);
  await ins?.close();
  await rwQueue?.close();
  await rwQueue?.disconnect();
  fx?.remove();
  await stack?.stop();
});

describe('/admin/queues: who gets in', () => {
  const paths = () => ['/admin/queues', '/admin/queues/', '/admin/queues/queue/ingest', '/admin/queues/api/queues', staticAsset()];
  const refused: Array<[string, Record<string, string>]> = [
    ['no credentials', {}],
    ['a tenant API key as bearer', bearer(KEYS.acme)],
    ['a hashed-form tenant API key as bearer', bearer(KEYS.globex)],
    ['a tenant API key as Basic password', basic('admin', KEYS.acme)],
    ['a wrong token', bearer(`${TOKEN}x`)],
    ['a wrong token over Basic', basic('admin', TOKEN.slice(0, -1))],
    ['the token with another Basic user', basic('root', TOKEN)],
    ['the token without a Basic user', { authorization: `Basic ${Buffer.from(TOKEN).toString('base64')}` }],
    ['another scheme', { authorization: `Token ${TOKEN}` }],
  ];
  for (const [what, headers] of refused) {
    test(`401 with ${what}, on the page, the JSON API and the static assets`, async () => {
      for (const p of paths()) {
        const res = await get(api, p, headers);
        assert.equal(res.status, 401, `${p}: ${res.text}`);
        assert.equal(res.headers.get('www-authenticate'), CHALLENGE, p);
        assert.equal(JSON.parse(res.text).error.code, 'UNAUTHORIZED', p);
      }
    });
  }

  test('200 with the token as bearer and over Basic: the page, its assets and the queue list', async () => {
    for (const headers of [bearer(TOKEN), basic('admin', TOKEN)]) {
      const page = await get(api, '/admin/queues', headers);
      assert.equal(page.status, 200, page.text);
      assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(page.text, /<base href="\/admin\/queues\/"/, 'the page links its assets under /admin/queues/');
      assert.equal(page.headers.get('x-powered-by'), null);
      assert.equal(page.headers.get('cache-control'), 'no-store');

      const asset = await get(api, staticAsset(), headers);
      assert.equal(asset.status, 200);
      assert.match(asset.headers.get('content-type') ?? '', /javascript/);

      const list = await get(api, '/admin/queues/api/queues?activeQueue=ingest&status=waiting&page=1&jobsPerPage=10', headers);
      assert.equal(list.status, 200, list.text);
      assert.match(list.headers.get('content-type') ?? '', /^application\/json/);
      const body = JSON.parse(list.text) as {
        queues: Array<{ name: string; counts: Record<string, number>; jobs: Array<{ id: string; data: unknown }>; readOnlyMode: boolean }>;
      };
      assert.deepEqual(body.queues.map((q) => q.name).sort(), [QUEUES.ingest, QUEUES.ingestSmall, QUEUES.webhooks]);
      const ingest = body.queues.find((q) => q.name === QUEUES.ingest)!;
      assert.equal(ingest.readOnlyMode, true);
      assert.ok(ingest.counts.waiting >= 1, JSON.stringify(ingest.counts));
      const job = ingest.jobs.find((j) => j.id === jobId);
      assert.deepEqual(job?.data, { jobId, tenant: 'acme' }, 'the submitted job, ids only');
    }
  });

  test('not mounted without ADMIN_TOKEN: 404, whatever the credentials', async () => {
    for (const headers of [{}, bearer(TOKEN), basic('admin', TOKEN), bearer(KEYS.acme)]) {
      for (const p of ['/admin/queues', '/admin/queues/api/queues']) {
        const res = await get(plain, p, headers);
        assert.equal(res.status, 404, `${p}: ${res.text}`);
        assert.equal(JSON.parse(res.text).error.code, 'ROUTE_NOT_FOUND');
      }
    }
  });

  test('the admin token opens nothing under /v1, and /v1 errors keep their JSON and Bearer challenge', async () => {
    const res = await call(api, 'GET', '/v1/jobs', { key: TOKEN });
    assert.equal(res.status, 401);
    assert.equal(res.body.error?.code, 'UNAUTHORIZED');
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="vod-ingest"');
    const bad = await call(api, 'POST', '/v1/jobs', { key: KEYS.acme, body: '{nope' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error?.code, 'INVALID_JSON');
  });

  test("an unknown path below the board, once in, is the API's JSON 404", async () => {
    const res = await get(api, '/admin/queues/api/no-such-thing', bearer(TOKEN));
    assert.equal(res.status, 404, res.text);
    assert.equal(JSON.parse(res.text).error.code, 'ROUTE_NOT_FOUND');
  });
});

describe('/admin/queues: read-only unless ADMIN_QUEUES_WRITABLE', () => {
  const put = (target: TestService, p: string, headers: Record<string, string> = {}) =>
    fetch(`${target.url}/admin/queues/api${p}`, { method: 'PUT', headers: { ...bearer(TOKEN), ...headers } });

  test("read-only: pause, clean, retry and the job's own clean are refused; nothing changes", async () => {
    for (const p of [
      '/queues/ingest/pause',
      '/queues/ingest/clean/waiting',
      '/queues/ingest/retry/failed',
      `/queues/ingest/${jobId}/clean`,
      '/queues/ingest/empty',
    ]) {
      const res = await put(api, p);
      assert.equal(res.status, 405, `${p}: ${await res.text()}`);
    }
    const all = await put(api, '/queues/pause');
    assert.ok(all.status < 500, 'pause-all skips read-only queues');
    assert.equal(await ins.queue.isPaused(), false);
    assert.ok(await ins.queue.getJob(jobId), 'the job is still queued');
  });

  test('a mutating call without credentials is a 401 before bull-board sees it', async () => {
    const res = await fetch(`${rw.url}/admin/queues/api/queues/ingest/pause`, { method: 'PUT' });
    assert.equal(res.status, 401);
    assert.equal(await rwQueue.isPaused(), false);
  });

  test('writable: pause and resume work; a browser request from another site is refused', async () => {
    const cross = await put(rw, '/queues/ingest/pause', { 'sec-fetch-site': 'cross-site' });
    assert.equal(cross.status, 403);
    assert.equal(((await cross.json()) as { error: { code: string } }).error.code, 'CROSS_SITE_REQUEST');
    assert.equal(await rwQueue.isPaused(), false);

    assert.equal((await put(rw, '/queues/ingest/pause', { 'sec-fetch-site': 'same-origin' })).status, 200);
    assert.equal(await rwQueue.isPaused(), true);
    assert.equal((await put(rw, '/queues/ingest/resume')).status, 200);
    assert.equal(await rwQueue.isPaused(), false);
  });
});

describe('/admin/queues: metrics and secrets', () => {
  test('http metrics label every board request /admin/queues: no job ids, asset names or unbounded values', async () => {
    const probes = [
      `/admin/queues/queue/ingest/${jobId}`,
      `/admin/queues/api/queues/ingest/${jobId}`,
      `/admin/queues/api/queues/ingest/${jobId}/logs`,
      `/admin/queues/api/queues/ingest/job_nope${randomBytes(4).toString('hex')}`,
      staticAsset(),
      '/admin/queues/static/no-such-file.js',
    ];
    for (const p of probes) await get(api, p, bearer(TOKEN));
    await get(api, `/admin/queues/queue/${randomBytes(4).toString('hex')}`);
    const metrics = await get(api, '/metrics');
    const routes = new Set([...metrics.text.matchAll(/^http_request_duration_seconds_count\{[^}]*route="([^"]*)"/gm)].map((m) => m[1]));
    const admin = [...routes].filter((r) => r.includes('admin') || r.includes('/api/') || r.includes('static'));
    assert.deepEqual(admin, ['/admin/queues'], `board routes: ${[...routes].join(' ')}`);
    for (const r of routes) {
      assert.ok(!r.includes(jobId) && !r.includes('job_nope') && !/\.js$/.test(r) && !/[0-9a-f]{8}/.test(r), `bounded route label: ${r}`);
    }
  });

  test("the token never appears in the api's output", async () => {
    for (const s of [api, rw]) {
      const out = s.proc.output();
      assert.ok(out.includes('QueueBoardEnabled'), 'the board announced itself');
      assert.ok(!out.includes(TOKEN), 'token in output');
      assert.ok(!out.includes(Buffer.from(`admin:${TOKEN}`).toString('base64')), 'Basic credentials in output');
    }
  });

  test('a bad ADMIN_TOKEN stops start-up with a message that does not quote it', async () => {
    const cases: Array<[string, RegExp]> = [
      ['short-tok', /ADMIN_TOKEN: must be at least 16 characters/],
      [KEYS.acme, /ADMIN_TOKEN: must not be one of the API_KEYS/],
      [KEYS.globex, /ADMIN_TOKEN: must not be one of the API_KEYS/],
    ];
    for (const [value, message] of cases) {
      const proc = startServiceProcess('api', {
        PORT: '0',
        HOST: '127.0.0.1',
        REDIS_URL: stack.redis.url,
        API_KEYS: API_KEYS_ENV,
        TOKEN_SERVICE_SECRET: 'unused',
        ADMIN_TOKEN: value,
      });
      const [code] = (await once(proc.child, 'close')) as [number | null];
      assert.equal(code, 1, proc.output());
      assert.match(proc.output(), message);
      assert.ok(!proc.output().includes(value), 'the value is not printed');
    }
  });
});
