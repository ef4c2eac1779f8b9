import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Registry } from 'prom-client';
import { createLogger } from '@vod-ingest/shared';
import type { TestService } from '@vod-ingest/shared/testing';
import { createApp } from '../src/app.js';
import { openApiDocument } from '../src/openapi/document.js';
import { call, KEYS, startApi, startStack, type Stack } from './helpers.js';
import { replyProblem } from './openapi.check.js';

const CHROMIUM = '/usr/bin/chromium';
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'options'];

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  name?: string;
  rawPath?: string;
}

/** `METHOD /path` of every route of the express app (express `:param` as OpenAPI `{param}`, no trailing slash). */
function servedRoutes(stack: Layer[], out = new Set<string>()): Set<string> {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const p of paths) for (const m of Object.keys(layer.route.methods)) out.add(`${m.toUpperCase()} ${normalize(p.replace(/:(\w+)/g, '{$1}'))}`);
    } else if (layer.handle?.stack) {
      servedRoutes(layer.handle.stack, out);
    } else if (layer.name === 'mounted_app' && layer.rawPath) {
      out.add(`GET ${layer.rawPath}`); // a sub-app with routes of its own (the queue board): its entry page
    }
  }
  return out;
}

const normalize = (p: string) => (p.length > 1 ? p.replace(/\/$/, '') : p);

function documentedRoutes(doc: ReturnType<typeof openApiDocument>): Set<string> {
  const out = new Set<string>();
  for (const [p, item] of Object.entries(doc.paths)) for (const m of METHODS) if (item[m]) out.add(`${m.toUpperCase()} ${normalize(p)}`);
  return out;
}

/** The app as `main.ts` wires it (dashboard on), with parts that are never called while routes are only listed. */
function appForRouteListing() {
  const unused = {} as never;
  return createApp({
    log: createLogger('api', { level: 'silent' }),
    registry: new Registry(),
    redis: unused,
    apiKeys: [],
    tenants: { list: () => [], get: () => unused } as never,
    credentials: unused,
    vod: unused,
    rateLimit: { limit: 1, windowSeconds: 1 },
    jobRateLimit: { limit: 1, windowSeconds: 1 },
    jobs: { keys: {} } as never,
    uploads: unused,
    oss: unused,
    vodEvents: {},
    queue: unused,
    sourcePolicy: unused,
    hub: unused,
    sseMaxPerTenant: 1,
    admin: { token: 'unused', queues: [], writable: false },
  });
}

let stack: Stack;
let api: TestService;

before(async () => {
  stack = await startStack();
  api = await startApi(
    { redisUrl: stack.redis.url, emu: stack.emu, tokenUrl: stack.token.url, tokenSecret: stack.token.secret },
    { KEY_PREFIX: '{vit-openapi}' },
  );
});
after(async () => {
  await api?.stop();
  await stack?.stop();
});

describe('the OpenAPI document', () => {
  test('GET /openapi.json needs no key and is a valid OpenAPI 3.1 document, the one the code builds', async () => {
    const res = await fetch(`${api.url}/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const served = (await res.json()) as Record<string, unknown>;
    assert.equal(served.openapi, '3.1.0');
    assert.deepEqual(served, JSON.parse(JSON.stringify(openApiDocument())));
    const validator = new Validator();
    const result = await validator.validate(structuredClone(served));
    assert.equal(validator.version, '3.1');
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  });

  test('every route the api serves is in the document, and every documented route is served', () => {
    const served = servedRoutes((appForRouteListing() as unknown as { router: { stack: Layer[] } }).router.stack);
    const documented = documentedRoutes(openApiDocument());
    assert.ok(served.has('POST /v1/jobs') && served.has('GET /admin/queues') && served.has('GET /openapi.json'), [...served].join('\n'));
    assert.deepEqual(
      [...served].filter((r) => !documented.has(r)),
      [],
      'served but not documented',
    );
    assert.deepEqual(
      [...documented].filter((r) => !served.has(r)),
      [],
      'documented but not served',
    );
  });

  test('request bodies are the zod schemas the routes validate with (input form)', () => {
    const schemas = (openApiDocument().components as { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> }).schemas;
    assert.deepEqual(schemas.JobRequest.required, ['source', 'target']);
    assert.deepEqual(Object.keys(schemas.UploadAuthRequest.properties ?? {}).sort(), [
      'appId',
      'cateId',
      'coverUrl',
      'description',
      'fileName',
      'fileSize',
      'storageLocation',
      'tags',
      'templateGroupId',
      'title',
      'userData',
      'workflowId',
    ]);
    assert.deepEqual(schemas.UploadAuthRequest.required?.sort(), ['fileName', 'title']);
    assert.ok(schemas.UploadRequest.properties?.expiresInSeconds, 'POST /v1/uploads body');
  });

  test('the reply check refuses what the document does not say', () => {
    const view = { id: 'job_abc', status: 'queued' };
    assert.match(replyProblem('GET', '/v1/jobs/job_abc', 200, 'application/json', view) ?? '', /must have required property 'source'/);
    assert.match(replyProblem('GET', '/v1/jobs/job_abc', 418, 'application/json', view) ?? '', /418 is not documented/);
    assert.match(replyProblem('GET', '/v1/nothing', 200, 'application/json', {}) ?? '', /no GET \/v1\/nothing/);
    const err = { error: { code: 'JOB_NOT_FOUND', message: 'No such job', details: [] } };
    assert.equal(replyProblem('GET', '/v1/jobs/job_abc?x=1', 404, 'application/json; charset=utf-8', err), undefined);
    assert.match(replyProblem('GET', '/v1/jobs/job_abc', 404, 'application/json', { ...err, extra: 1 }) ?? '', /additional properties/);
    assert.equal(
      replyProblem('PUT', '/v1/jobs', 404, 'application/json', { error: { code: 'ROUTE_NOT_FOUND', message: 'No such route', details: [] } }),
      undefined,
    );
  });

  test("replies of the api's main routes match it (call() checks every reply of every api test)", async () => {
    const job = await call(api, 'POST', '/v1/jobs', {
      key: KEYS.acme,
      body: { source: { type: 'url', url: 'http://127.0.0.1/x.mp4' }, target: { type: 'vod', title: 'x' } },
    });
    assert.equal(job.status, 403, JSON.stringify(job.body));
    assert.equal((await call(api, 'GET', '/v1/jobs?limit=2', { key: KEYS.acme })).status, 200);
    assert.equal((await call(api, 'GET', '/v1/jobs/job_nope', { key: KEYS.acme })).status, 404);
    const upload = await call(api, 'POST', '/v1/uploads', {
      key: KEYS.acme,
      body: { target: { type: 'oss', bucket: 'media-bucket', key: 'a/b.mp4' }, maxBytes: 10 },
    });
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    const token = String(upload.body.clientToken);
    assert.equal((await call(api, 'GET', `/v1/uploads/${String(upload.body.id)}`, { key: token })).status, 200);
    assert.equal((await call(api, 'POST', '/v1/sts-tokens', { key: token })).status, 200);
    assert.equal((await call(api, 'POST', `/v1/uploads/${String(upload.body.id)}/complete`, { key: token })).status, 409);
    assert.equal((await call(api, 'GET', '/healthz')).status, 200);
    assert.equal((await call(api, 'GET', '/readyz')).status, 200);
  });
});

describe('GET /docs', () => {
  test('a page with its own script and style only, no key needed', async () => {
    const res = await fetch(`${api.url}/docs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const html = await res.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(
      refs.filter((r) => !r.startsWith('/')),
      [],
      'nothing from another origin',
    );
    for (const asset of ['/docs/docs.js', '/docs/docs.css']) assert.equal((await fetch(`${api.url}${asset}`)).status, 200, asset);
    assert.equal((await call(api, 'GET', '/docs/index.htm')).status, 404);
  });

  test('renders every operation and schema of the document in Chromium', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent` }, async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      const outside: string[] = [];
      page.on('request', (r) => void (r.url().startsWith(api.url) || outside.push(r.url())));
      await page.goto(`${api.url}/docs`);
      await page.waitForSelector('#schema-JobView');
      const doc = openApiDocument();
      const operations = Object.values(doc.paths).flatMap((item) => METHODS.filter((m) => item[m])).length;
      assert.equal(await page.locator('section.op[id^="op-"]').count(), operations, 'one section per operation');
      assert.equal(await page.locator('section.op[id^="schema-"]').count(), Object.keys((doc.components as { schemas: object }).schemas).length);
      assert.match((await page.locator('[id="op-post-/v1/jobs"]').innerText()) ?? '', /Idempotency-Key[\s\S]*202[\s\S]*RATE_LIMITED/);
      assert.deepEqual(outside, []);
    } finally {
      await browser.close();
    }
  });
});
