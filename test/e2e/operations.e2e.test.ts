import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { KEYS, metricSum, startStack, until, writeRandomFile, type Stack } from './stack.js';
import { startReceiver, type Receiver } from './webhook-receiver.js';

const MiB = 1024 * 1024;
const HEADERS_KEY = 'q4yA8Xc6Lk1u0J0y7b9nT3v5Wm2Rz8Pd4Hs6Gf1Ke0o=';
const ORIGIN_AUTH = 'Bearer origin-token-5d1e7a9c3b';
let stack: Stack;
let receiver: Receiver;
let origin: Server;
let remoteFile: string;
const sizes: number[] = [];
const secrets = new Map<string, string>();

before(async () => {
  stack = await startStack({ workers: 0, apiEnv: { SOURCE_HEADERS_KEY: HEADERS_KEY }, workerEnv: { SOURCE_HEADERS_KEY: HEADERS_KEY } });
  receiver = await startReceiver(stack.webhookSecret);
  await stack.startWorker({ WEBHOOK_URLS: receiver.url });
  remoteFile = path.join(stack.inbox, 'remote.bin');
  await writeRandomFile(remoteFile, 2 * MiB);
  origin = createServer((req, res) => {
    if (req.headers.authorization !== ORIGIN_AUTH) return void res.writeHead(401).end();
    res.writeHead(200, { 'content-length': String(statSync(remoteFile).size) });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(remoteFile).pipe(res);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  await runJobs();
});
after(async () => {
  await stack?.stop();
  await receiver?.close();
  await new Promise((r) => origin?.close(r));
});

/** A small but complete run: every source and target kind, client credentials, webhooks. */
async function runJobs(): Promise<void> {
  const multi = path.join(stack.inbox, 'multi.mp4');
  const single = path.join(stack.inbox, 'single.mp4');
  await writeRandomFile(multi, 5 * MiB);
  await writeRandomFile(single, 64 * 1024);
  const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/remote.bin`;
  const bodies = [
    { source: { type: 'file', path: multi }, target: { type: 'vod', title: 'Ops vod' }, upload: { partSize: MiB } },
    { source: { type: 'file', path: single }, target: { type: 'oss', bucket: stack.emu.bucket, key: 'ops/single.mp4' } },
    {
      source: { type: 'url', url, headers: { Authorization: ORIGIN_AUTH } },
      target: { type: 'oss', bucket: stack.emu.bucket, key: 'ops/remote.bin' },
      upload: { partSize: MiB },
    },
  ];
  for (const body of bodies) {
    const r = await stack.submit(body);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const job = await stack.waitFor(r.body.id, { timeoutMs: 60_000 });
    assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
    sizes.push(job.result!.size);
  }
  const auth = { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' };
  const sts = (await (await fetch(`${stack.api.url}/v1/sts-tokens`, { method: 'POST', headers: auth })).json()) as Record<string, string>;
  const ua = (await (
    await fetch(`${stack.api.url}/v1/vod/upload-auth`, { method: 'POST', headers: auth, body: JSON.stringify({ title: 'c', fileName: 'c.mp4' }) })
  ).json()) as Record<string, string>;
  const uaAuth = JSON.parse(Buffer.from(ua.UploadAuth, 'base64').toString()) as Record<string, string>;
  const ingest = (await (
    await fetch(`${stack.token.url}/v1/credentials/ingest`, { headers: { authorization: `Bearer ${stack.token.secret}` } })
  ).json()) as Record<string, string>;
  const add = (name: string, value: string | undefined) => value && secrets.set(name, value);
  add('long-term key secret', stack.emu.accessKeySecret);
  add('token service secret', stack.token.secret);
  add('token cache key', createHash('sha256').update(`cache:${stack.token.secret}`).digest('base64'));
  add('api key acme', KEYS.acme);
  add('api key globex', KEYS.globex);
  add('webhook secret', stack.webhookSecret);
  add('webhook secret key', stack.webhookSecret.slice('whsec_'.length));
  add('url source Authorization', ORIGIN_AUTH);
  add('url source token', ORIGIN_AUTH.slice('Bearer '.length));
  add('source headers key', HEADERS_KEY);
  add('client STS secret', sts.AccessKeySecret);
  add('client STS token', sts.SecurityToken);
  add('UploadAuth', ua.UploadAuth);
  add('UploadAuth secret', uaAuth.AccessKeySecret);
  add('UploadAuth token', uaAuth.SecurityToken);
  add('ingest STS secret', ingest.accessKeySecret);
  add('ingest STS token', ingest.securityToken);
  await until(() => receiver.events.filter((e) => e.type === 'job.succeeded').length === 3);
}

const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text();
test("every service's /metrics has its documented series; uploaded bytes equal the bytes uploaded; no label holds a job id", async () => {
  const [api, token, worker, emulator] = await Promise.all([
    scrape(stack.api.url),
    scrape(stack.token.url),
    scrape(stack.workers[0].url),
    scrape(stack.emu.url),
  ]);
  const documented: Array<[string, string, string[]]> = [
    ['api', api, ['http_request_duration_seconds_bucket', 'process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']],
    ['emulator', emulator, ['emulator_requests_total', 'emulator_faults_injected_total', 'process_cpu_seconds_total']],
    [
      'token',
      token,
      [
        'sts_assume_role_total',
        'sts_assume_role_duration_seconds_bucket',
        'token_cache_hits_total',
        'token_cache_misses_total',
        'sts_credential_expiry_seconds',
        'http_request_duration_seconds_bucket',
        'process_cpu_seconds_total',
      ],
    ],
    [
      'worker',
      worker,
      [
        'ingest_jobs_total',
        'ingest_job_duration_seconds_bucket',
        'ingest_uploaded_bytes_total',
        'ingest_part_upload_duration_seconds_bucket',
        'ingest_part_retries_total',
        'ingest_credential_refreshes_total',
        'queue_jobs',
        'webhook_deliveries_total',
        'webhook_delivery_duration_seconds_bucket',
        'http_request_duration_seconds_bucket',
        'process_cpu_seconds_total',
      ],
    ],
  ];
  for (const [service, text, names] of documented) {
    for (const name of names) assert.match(text, new RegExp(`^# (HELP|TYPE) ${name.replace(/_bucket$/, '')} `, 'm'), `${service} exports ${name}`);
  }
  assert.equal(
    metricSum(worker, 'ingest_uploaded_bytes_total'),
    sizes.reduce((a, b) => a + b, 0),
  );
  assert.equal(metricSum(worker, 'ingest_jobs_total', /outcome="succeeded"/), 3);
  assert.ok(metricSum(worker, 'webhook_deliveries_total', /outcome="delivered"/) >= 9);
  assert.ok(metricSum(token, 'sts_assume_role_total', /outcome="success"/) >= 2);
  for (const [service, text] of documented) {
    assert.doesNotMatch(text, /job_[0-9a-z]{10,}/, `${service}: no label holds a job id`);
    assert.doesNotMatch(text, /evt_/, `${service}: no label holds an event id`);
  }
});

test("no secret appears in any process's output or in any Redis value", async () => {
  const outputs = [stack.api, stack.token, ...stack.workers, stack.emu].map(
    (s, i) => [['api', 'token', 'worker', 'emulator'][Math.min(i, 3)], s.proc.output()] as const,
  );
  const redis = new Redis(stack.redis.url);
  let dump = '';
  try {
    for await (const keys of redis.scanStream({ count: 500 })) {
      for (const key of keys as string[]) dump += `${key}\n${await valueOf(redis, key)}\n`;
    }
  } finally {
    redis.disconnect();
  }
  assert.ok(dump.length > 10_000, 'the Redis dump holds the run');
  for (const [name, value] of secrets) {
    for (const [service, out] of outputs) assert.ok(!out.includes(value), `${name} appears in the ${service} output`);
    assert.ok(!dump.includes(value), `${name} appears in Redis`);
  }
});

async function valueOf(redis: Redis, key: string): Promise<string> {
  switch (await redis.type(key)) {
    case 'string':
      return (await redis.get(key)) ?? '';
    case 'hash':
      return JSON.stringify(await redis.hgetall(key));
    case 'list':
      return JSON.stringify(await redis.lrange(key, 0, -1));
    case 'set':
      return JSON.stringify(await redis.smembers(key));
    case 'zset':
      return JSON.stringify(await redis.zrange(key, 0, -1));
    case 'stream':
      return JSON.stringify(await redis.xrange(key, '-', '+'));
    default:
      return '';
  }
}
