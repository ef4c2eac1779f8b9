import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { connect, createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AppError, newWebhookSecret, probeUrl, type JobEvent } from '@vod-ingest/shared';
import type { TestService } from '@vod-ingest/shared/testing';
import { checkEndpoint, createWebhookAgent, sendWebhook } from '../../worker/src/events/webhook.sender.js';
import { spoolUrlSource } from '../../worker/src/sources/url-source.js';
import { KEYS, startApi, startStack, type Stack } from './helpers.js';
import { call, httpServer, ingestFixture, inspect, type IngestFixture } from './jobs.helpers.js';

/**
 * The acceptance test of the SSRF guard: every spelling of loopback, private and metadata
 * addresses, as a url source, a callbackUrl, a redirect target (api pre-check and worker
 * download) and a webhook endpoint, is refused before any connection is made. A TCP canary
 * listening on every interface (dual stack) at the port all these URLs name counts connections.
 */

const PREFIX = '{vit-ssrf}';

/** Hosts as a URL may spell them; each one is loopback, private, metadata or otherwise not public. */
const SPELLINGS: string[] = [
  // IPv4 loopback, and what WHATWG URL parsing turns into it
  '127.0.0.1',
  '127.1',
  '2130706433',
  '0x7f000001',
  '0177.0.0.1',
  '017700000001',
  '0x7f.1',
  '127.255.255.254',
  // IPv6 loopback and the IPv6 forms carrying IPv4 loopback
  '[::1]',
  '[0:0:0:0:0:0:0:1]',
  '[::ffff:127.0.0.1]',
  '[::ffff:7f00:1]',
  '[::127.0.0.1]',
  '[::ffff:0:127.0.0.1]',
  '[64:ff9b::127.0.0.1]',
  '[64:ff9b:1::7f00:1]',
  '[2002:7f00:1::]',
  '[2001:0:4136:e378:8000:63bf:80ff:fffe]',
  // private, unique-local, link-local
  '10.0.0.1',
  '012.1',
  '172.16.0.1',
  '192.168.1.1',
  '[::ffff:10.0.0.1]',
  '[::ffff:c0a8:101]',
  '[fd00::1]',
  '[fc00::1]',
  '[fe80::1]',
  // metadata (169.254.169.254; Alibaba Cloud's 100.100.100.200; AWS's IPv6 one)
  '169.254.169.254',
  '0xa9fea9fe',
  '[::ffff:169.254.169.254]',
  '[64:ff9b::a9fe:a9fe]',
  '[2002:a9fe:a9fe::]',
  '100.100.100.200',
  '100.6579400',
  '[::ffff:100.100.100.200]',
  '[fd00:ec2::254]',
  // unspecified, CGNAT, multicast, broadcast, reserved
  '0.0.0.0',
  '0',
  '[::]',
  '[::ffff:0.0.0.0]',
  '100.64.0.1',
  '224.0.0.1',
  '[ff02::1]',
  '255.255.255.255',
  '240.0.0.1',
  '[2001:db8::1]',
];

let stack: Stack;
let fx: IngestFixture;
let api: TestService;
let canary: TcpServer;
let canaryPort: number;
const canarySaw: string[] = [];
let redirector: Awaited<ReturnType<typeof httpServer>>;
let redirectsServed = 0;
let spoolDir: string;

const spelled = (i: number) => `http://${SPELLINGS[i]}:${canaryPort}/media/clip.mp4`;
/** An allowlisted host (`localhost`) answering 302 to the i-th spelling at the canary's port. */
const viaRedirect = (i: number) => `${redirector.url}/to/${i}`;
const WEBHOOK_SECRET = newWebhookSecret();
const event = (): JobEvent => ({ id: 'evt_job_ssrf_1', type: 'job.queued', createdAt: new Date().toISOString(), jobId: 'job_ssrf', tenant: 'acme', data: {} });
/** Runs `fn` and asserts the canary saw no connection meanwhile (the last test checks the whole run). */
async function quietly(fn: () => Promise<void>): Promise<void> {
  const before = canarySaw.length;
  await fn();
  assert.deepEqual(canarySaw.slice(before), [], 'the canary saw a connection');
}

before(async () => {
  canary = createTcpServer((socket) => {
    canarySaw.push(`${socket.remoteAddress}`);
    socket.destroy();
  });
  canary.listen({ port: 0, host: '::', ipv6Only: false });
  await once(canary, 'listening');
  canaryPort = (canary.address() as AddressInfo).port;
  redirector = await httpServer((req, res) => {
    const i = Number(/^\/to\/(\d+)$/.exec(req.url ?? '')?.[1]);
    if (!Number.isInteger(i) || !SPELLINGS[i]) return void res.writeHead(404).end();
    redirectsServed++;
    res.writeHead(302, { location: spelled(i) }).end();
  });
  spoolDir = mkdtempSync(path.join(tmpdir(), 'ssrf-spool-'));
  stack = await startStack();
  fx = ingestFixture();
  api = await startApi(
    { redisUrl: stack.redis.url, emu: stack.emu, tokenUrl: stack.token.url, tokenSecret: stack.token.secret },
    { INGEST_ROOTS: fx.root, URL_ALLOWLIST: 'localhost', KEY_PREFIX: PREFIX },
  );
});
after(async () => {
  await api?.stop();
  await stack?.stop();
  fx?.remove();
  await redirector?.close();
  canary?.close();
  if (spoolDir) rmSync(spoolDir, { recursive: true, force: true });
});

const submit = (body: unknown) => call(api, 'POST', '/v1/jobs', { key: KEYS.acme, body });
const urlJob = (url: string) => ({ source: { type: 'url', url }, target: { type: 'vod', title: 'Clip' } });
const fileJob = (callbackUrl: string) => ({ source: { type: 'file', path: fx.clip }, target: { type: 'vod', title: 'Clip' }, callbackUrl });

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.equal((err as { code?: string }).code, code, String((err as Error).message ?? err));
}

describe('the canary', () => {
  test('sees connections to it over IPv4 and IPv6 loopback (so it would see a leak)', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const seen = once(canary, 'connection');
      connect(canaryPort, host).on('error', () => undefined);
      await seen;
    }
    assert.equal(canarySaw.length, 2);
    canarySaw.length = 0;
  });
});

describe('every spelling is refused before any connection', () => {
  test(`the table has ${SPELLINGS.length} spellings, each a distinct URL`, () => {
    assert.ok(SPELLINGS.length >= 25);
    assert.equal(new Set(SPELLINGS).size, SPELLINGS.length);
  });

  SPELLINGS.forEach((host, i) => {
    test(`${host}: as a url source → 403 SOURCE_URL_FORBIDDEN_ADDRESS`, () =>
      quietly(async () => {
        const res = await submit(urlJob(spelled(i)));
        assert.equal(res.status, 403, JSON.stringify(res.body));
        assert.equal(res.body.error?.code, 'SOURCE_URL_FORBIDDEN_ADDRESS');
      }));

    test(`${host}: as a callbackUrl → 403 CALLBACK_URL_FORBIDDEN_ADDRESS`, () =>
      quietly(async () => {
        const res = await submit(fileJob(spelled(i)));
        assert.equal(res.status, 403, JSON.stringify(res.body));
        assert.equal(res.body.error?.code, 'CALLBACK_URL_FORBIDDEN_ADDRESS');
        assert.ok(res.body.error?.details.some((d) => d.field === 'callbackUrl'));
      }));

    test(`${host}: as the redirect target of an allowlisted url source (api pre-check) → 403`, () =>
      quietly(async () => {
        const before = redirectsServed;
        const res = await submit(urlJob(viaRedirect(i)));
        assert.equal(res.status, 403, JSON.stringify(res.body));
        assert.equal(res.body.error?.code, 'SOURCE_URL_FORBIDDEN_ADDRESS');
        assert.equal(redirectsServed, before + 1, 'the redirector was asked once');
      }));

    test(`${host}: in the worker download, as the url and as a redirect target → SOURCE_URL_FORBIDDEN_ADDRESS`, () =>
      quietly(async () => {
        const policy = { allowlist: ['localhost'] };
        for (const url of [spelled(i), viaRedirect(i)]) {
          const err = await spoolUrlSource({ url, spoolDir, policy }).then(
            () => assert.fail('downloaded'),
            (e: unknown) => e,
          );
          assert.ok(err instanceof AppError, String(err));
          assert.equal(err.code, 'SOURCE_URL_FORBIDDEN_ADDRESS', url);
          assert.equal(err.status, 403);
          assert.equal(err.retryable, false);
        }
        assert.deepEqual(readdirSync(spoolDir), []);
      }));

    test(`${host}: as a webhook endpoint → WEBHOOK_URL_FORBIDDEN_ADDRESS; behind an endpoint's redirect → not followed`, () =>
      quietly(async () => {
        assert.throws(
          () => checkEndpoint(spelled(i), ['localhost']),
          (e: { code?: string; status?: number }) => e.code === 'WEBHOOK_URL_FORBIDDEN_ADDRESS' && e.status === 403,
        );
        const agent = createWebhookAgent(['localhost'], 5000);
        try {
          const status = await sendWebhook(checkEndpoint(viaRedirect(i), ['localhost']), event(), { agent, secret: WEBHOOK_SECRET, timeoutMs: 5000 });
          assert.equal(status, 302);
        } finally {
          await agent.close();
        }
      }));
  });
});

describe('a host name resolving to loopback, not allowlisted, is refused at connect time', () => {
  const policy = { allowlist: [] };
  const named = () => `http://localhost:${canaryPort}/media/clip.mp4`;

  test('by the pre-check, the download and the webhook sender alike', () =>
    quietly(async () => {
      await rejectsWithCode(probeUrl(named(), policy), 'SOURCE_URL_FORBIDDEN_ADDRESS');
      await rejectsWithCode(spoolUrlSource({ url: named(), spoolDir, policy }), 'SOURCE_URL_FORBIDDEN_ADDRESS');
      const agent = createWebhookAgent([], 5000);
      try {
        // The sender throws the lookup's refusal; the delivery processor maps it to WEBHOOK_URL_FORBIDDEN_ADDRESS.
        await rejectsWithCode(
          sendWebhook(checkEndpoint(named(), []), event(), { agent, secret: WEBHOOK_SECRET, timeoutMs: 5000 }),
          'SOURCE_URL_FORBIDDEN_ADDRESS',
        );
      } finally {
        await agent.close();
      }
    }));
});

describe('afterwards', () => {
  test('nothing was recorded or enqueued, the api logged no error, and the canary saw no connection', async () => {
    const ins = inspect(stack.redis.url, PREFIX);
    try {
      assert.deepEqual(await ins.jobKeys(), []);
      const counts = await ins.queue.getJobCounts();
      assert.ok(
        Object.values(counts).every((n) => n === 0),
        JSON.stringify(counts),
      );
    } finally {
      await ins.close();
    }
    assert.doesNotMatch(api.proc.output(), /"level":"error"/);
    assert.equal(redirectsServed, SPELLINGS.length * 3, 'the api pre-check, the download and the webhook sender each asked the redirector');
    assert.deepEqual(canarySaw, [], 'the canary saw a connection');
  });

  test('control: the same guarded path does reach the canary when its address is allowlisted', async () => {
    const seen = once(canary, 'connection');
    await probeUrl(`http://127.0.0.1:${canaryPort}/`, { allowlist: ['127.0.0.1'] }).catch(() => undefined);
    await seen;
    assert.equal(canarySaw.length, 1);
  });
});
