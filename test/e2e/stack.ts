import { createHash, randomBytes } from 'node:crypto';
import type OSS from 'ali-oss';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KEY_PREFIX, shardPrefixes, type JobEvent, type JobView } from '@vod-ingest/shared';
import {
  stablePorts,
  getVideoInfo,
  startEmulator,
  startHttpService,
  startTestRedis,
  startTokenService,
  writeTenantsFile,
  type StartEmulatorOptions,
  type TestTenant,
  type TestEmulator,
  type TestRedis,
  type TestRedisOptions,
  type TestService,
} from '@vod-ingest/shared/testing';

/** API keys of the end-to-end stack: tenant → key. */
export const KEYS = { acme: 'acme-e2e-key-0123456789abcdef', globex: 'globex-e2e-key-0123456789abcdef' } as const;

export interface StackOptions {
  workers?: number;
  redis?: TestRedisOptions;
  /**
   * A Redis Cluster to run against instead of a Redis of the stack's own: every service gets its
   * seeds as REDIS_CLUSTER_NODES (test/support/redis-cluster.ts). The caller stops it.
   */
  redisCluster?: TestRedis & { clusterNodes: string };
  emulator?: StartEmulatorOptions;
  /** REDIS_SHARDS of the api and the workers (default 1). */
  shards?: number;
  apiEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  tokenEnv?: Record<string, string>;
  /**
   * VOD event notifications: the emulator sends them (after `processingMs`, default 300) to the
   * api's `/v1/vod/events`, signed with a key both are given.
   */
  vodCallbacks?: { processingMs?: number };
  /** The tenants file of api, workers and token service; default: acme owns the emulator's bucket and uses VOD. */
  tenants?: (bucket: string) => Record<string, TestTenant>;
}

/** Every process of vod-ingest, real and compiled, against a real Redis and the emulator. */
export interface Stack {
  redis: TestRedis;
  emu: TestEmulator;
  token: TestService & { secret: string };
  api: TestService;
  workers: TestService[];
  /** INGEST_ROOTS: put source files here. */
  inbox: string;
  webhookSecret: string;
  startWorker(env?: Record<string, string>): Promise<TestService>;
  submit(body: unknown, o?: { key?: string; idempotencyKey?: string }): Promise<{ status: number; body: JobView & { error?: { code: string } } }>;
  job(id: string, key?: string): Promise<JobView>;
  /** Polls the job until `done` holds (default: a terminal status). */
  waitFor(id: string, o?: { timeoutMs?: number; done?: (j: JobView) => boolean }): Promise<JobView>;
  /** Every event on the Redis streams (one per shard), in stream order (across shards: by time). */
  streamEvents(): Promise<JobEvent[]>;
  stop(): Promise<void>;
}

export const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const apiPort = o.vodCallbacks ? await stablePorts() : 0;
  const callbackKey = randomBytes(16).toString('hex');
  const emulatorOptions: StartEmulatorOptions = o.vodCallbacks
    ? {
        ...o.emulator,
        vodCallbackUrl: `http://127.0.0.1:${apiPort}/v1/vod/events`,
        vodCallbackKey: callbackKey,
        processingMs: o.vodCallbacks.processingMs ?? 300,
        callbackRetryMs: 300,
      }
    : (o.emulator ?? {});
  // What is up so far: `stop` stops it, and so does a later step that fails (a stack that did not start leaves nothing running).
  const started: Stoppable[] = [];
  try {
    return await startAll(o, emulatorOptions, apiPort, callbackKey, started);
  } catch (err) {
    await stopAll(started).catch(() => {});
    throw err;
  }
}

interface Stoppable {
  stop(): Promise<unknown>;
}

/** Stops what was started, the last first; every one is stopped even if one fails, then the first failure is thrown. */
async function stopAll(started: Stoppable[]): Promise<void> {
  const errors: unknown[] = [];
  for (const s of [...started].reverse()) await s.stop().catch((err: unknown) => errors.push(err));
  if (errors.length > 0) throw errors[0];
}

async function startAll(o: StackOptions, emulatorOptions: StartEmulatorOptions, apiPort: number, callbackKey: string, started: Stoppable[]): Promise<Stack> {
  const [redisUp, emuUp] = await Promise.allSettled([o.redisCluster ?? startTestRedis(o.redis), startEmulator(emulatorOptions)]);
  if (redisUp.status === 'fulfilled' && !o.redisCluster) started.push(redisUp.value);
  if (emuUp.status === 'fulfilled') started.push(emuUp.value);
  if (redisUp.status === 'rejected') throw redisUp.reason;
  if (emuUp.status === 'rejected') throw emuUp.reason;
  const [redis, emu] = [redisUp.value, emuUp.value];
  const clusterEnv: Record<string, string> = o.redisCluster ? { REDIS_CLUSTER_NODES: o.redisCluster.clusterNodes } : {};
  // By default acme owns the emulator's bucket and uses VOD; globex is an API_KEYS-only tenant (VOD, no OSS).
  const tenantsFile = writeTenantsFile(o.tenants?.(emu.bucket) ?? { acme: { vod: true, oss: [{ bucket: emu.bucket, prefix: '' }] } });
  const token = await startTokenService({ emulator: emu, redisUrl: redis.url, env: { TENANTS_FILE: tenantsFile, ...clusterEnv, ...o.tokenEnv } });
  started.push(token);
  const inbox = mkdtempSync(path.join(tmpdir(), 'vod-ingest-inbox-'));
  started.push({ stop: async () => rmSync(inbox, { recursive: true, force: true }) });
  const webhookSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const common = {
    REDIS_URL: redis.url,
    ...clusterEnv,
    TOKEN_SERVICE_URL: token.url,
    TOKEN_SERVICE_SECRET: token.secret,
    VOD_ENDPOINT: emu.hostPort,
    ALIBABA_CLOUD_REGION_ID: emu.region,
    INGEST_ROOTS: inbox,
    TENANTS_FILE: tenantsFile,
    URL_ALLOWLIST: '127.0.0.1,localhost',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    ...(o.shards ? { REDIS_SHARDS: String(o.shards) } : {}),
  };
  const callbackEnv: Record<string, string> = o.vodCallbacks ? { PORT: String(apiPort), VOD_CALLBACK_KEY: callbackKey } : {};
  const api = await startHttpService('api', {
    ...common,
    API_KEYS: `acme:${KEYS.acme},globex:${KEYS.globex}`,
    API_RATE_LIMIT: '100000',
    ...callbackEnv,
    ...o.apiEnv,
  });
  started.push(api);
  const workerEnv = { ...common, OSS_ENDPOINT: emu.url, WEBHOOK_SECRET: webhookSecret, JOB_LOCK_SECONDS: '5', SHUTDOWN_GRACE_SECONDS: '10', ...o.workerEnv };
  const workers: TestService[] = [];
  const startWorker = async (env: Record<string, string> = {}) => {
    const w = await startHttpService('worker', { ...workerEnv, ...env });
    workers.push(w);
    return w;
  };
  started.push({ stop: () => Promise.all(workers.map((w) => w.proc.stop(15_000))) });
  // Every worker settles before a failure is thrown: none comes up after the stack was stopped.
  const failed = (await Promise.allSettled(Array.from({ length: o.workers ?? 1 }, () => startWorker()))).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;

  const call = async (method: string, p: string, key: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${api.url}${p}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as JobView & { error?: { code: string } } };
  };
  const stack: Stack = {
    redis,
    emu,
    token,
    api,
    workers,
    inbox,
    webhookSecret,
    startWorker,
    submit: (body, so = {}) => call('POST', '/v1/jobs', so.key ?? KEYS.acme, body, so.idempotencyKey ? { 'idempotency-key': so.idempotencyKey } : {}),
    async job(id, key = KEYS.acme) {
      const r = await call('GET', `/v1/jobs/${id}`, key);
      if (r.status !== 200) throw new Error(`GET job ${id}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    async waitFor(id, wo = {}) {
      const deadline = Date.now() + (wo.timeoutMs ?? 120_000);
      const done = wo.done ?? ((j: JobView) => TERMINAL.has(j.status));
      for (;;) {
        const j = await stack.job(id).catch(() => undefined);
        if (j && done(j)) return j;
        if (Date.now() > deadline) throw new Error(`job ${id} not done in time: ${JSON.stringify(j)}`);
        await sleep(200);
      }
    },
    async streamEvents() {
      const { Cluster, Redis } = await import('ioredis');
      const seeds = o.redisCluster?.clusterNodes.split(',').map((n) => ({ host: n.split(':')[0], port: Number(n.split(':')[1]) }));
      const r = seeds ? new Cluster(seeds) : new Redis(redis.url);
      try {
        const streams = shardPrefixes(KEY_PREFIX, o.shards ?? 1).map((p) => `${p}:events`);
        const entries = (await Promise.all(streams.map((key) => r.xrange(key, '-', '+')))).flat();
        const ms = (id: string) => Number(id.split('-')[0]);
        // Stable: entries of one stream keep their order.
        entries.sort((a, b) => ms(a[0]) - ms(b[0]));
        return entries.map(([, f]) => JSON.parse(f[f.indexOf('event') + 1]) as JobEvent);
      } finally {
        r.disconnect();
      }
    },
    stop: () => stopAll(started),
  };
  return stack;
}

/** SHA-256 of a file, hex. */
export async function fileDigest(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** SHA-256 of an object in the emulator, fetched with its long-term key through ali-oss. */
export async function objectDigest(emu: TestEmulator, bucket: string, key: string): Promise<string> {
  const res = (await (await adminOss(emu, bucket)).getStream(key)) as { stream: NodeJS.ReadableStream };
  const h = createHash('sha256');
  for await (const chunk of res.stream) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Waits until `cond` holds, polling every 100 ms; throws after `ms`. */
export async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await sleep(100)) if (Date.now() > end) throw new Error('timed out');
}

/** Sum of the samples of metric `name` in a /metrics text whose line matches `labels`. */
export function metricSum(text: string, name: string, labels: RegExp = /.*/): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(name) && (l[name.length] === '{' || l[name.length] === ' ') && labels.test(l))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** ali-oss with the emulator's long-term key. */
export async function adminOss(emu: TestEmulator, bucket: string) {
  const { default: AliOss } = await import('ali-oss');
  return new AliOss({
    endpoint: emu.url,
    sldEnable: true,
    region: `oss-${emu.region}`,
    bucket,
    accessKeyId: emu.accessKeyId,
    accessKeySecret: emu.accessKeySecret,
    secure: false,
  } as OSS.Options);
}

/** Writes `size` pseudo-random bytes to `file` quickly (a repeated random block with a varying header per MiB). */
export async function writeRandomFile(file: string, size: number): Promise<void> {
  const { open } = await import('node:fs/promises');
  const fh = await open(file, 'w');
  const block = randomBytes(1024 * 1024);
  try {
    for (let off = 0, i = 0; off < size; off += block.length, i++) {
      block.writeUInt32BE(i, 0);
      block.writeUInt32BE(Math.floor(Math.random() * 2 ** 32), 4);
      await fh.write(block, 0, Math.min(block.length, size - off));
    }
  } finally {
    await fh.close();
  }
}

/** VOD GetVideoInfo through openapi-core, with an `ingest` credential from the token service. */
export async function videoInfo(stack: Stack, videoId: string): Promise<{ status: string; size?: number }> {
  const { TokenServiceCredentials } = await import('@vod-ingest/shared');
  const credential = await new TokenServiceCredentials({ url: stack.token.url, secret: stack.token.secret, profile: 'ingest' }).get();
  return getVideoInfo({ endpoint: stack.emu.hostPort, region: stack.emu.region }, credential, videoId);
}
