import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

/** A fault rule for the emulator's admin API (see services/emulator/src/faults.ts). */
export interface FaultRuleInput {
  action: string;
  rate?: number;
  times?: number;
  latencyMs?: number;
  drop?: boolean;
  status?: number;
  code?: string;
  message?: string;
  retryAfterSeconds?: number;
}

/** What `GET /__emulator/stats` answers. */
export interface EmulatorStats {
  requests: Record<string, number>;
  faults: Record<string, number>;
  partsReplaced: number;
  callbacks: Record<string, { delivered: number; failed: number; dropped: number }>;
}

/** A running emulator process with its admin API at hand. */
export interface TestEmulator {
  readonly proc: ServiceProcess;
  /** `http://localhost:PORT` — the form ali-oss takes (with `sldEnable: true`). */
  readonly url: string;
  /** `localhost:PORT` — the form openapi-core takes (with `protocol: 'http'`). */
  readonly hostPort: string;
  readonly port: number;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** The first configured OSS bucket. */
  readonly bucket: string;
  readonly vodBucket: string;
  readonly region: string;
  /**
   * Requests and injected faults per action; `partsReplaced` counts UploadParts that re-sent a
   * part OSS already held; `callbacks`, per VOD event type, notification tries answered 200
   * (`delivered`), tries that failed (`failed`) and events given up after three tries (`dropped`).
   */
  stats(): Promise<EmulatorStats>;
  resetStats(): Promise<void>;
  addFaults(rules: FaultRuleInput[]): Promise<void>;
  clearFaults(): Promise<void>;
  admin<T = unknown>(method: string, route: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

export interface StartEmulatorOptions {
  /** EMULATOR_TOKEN_TTL_SECONDS. */
  tokenTtlSeconds?: number;
  /** Defaults to true. */
  admin?: boolean;
  /** EMULATOR_CORS_ORIGINS: origins the bucket (and POP) CORS rule allows. Emulator default: `*`. */
  corsOrigins?: string[];
  /** EMULATOR_VOD_CALLBACK_URL: where VOD event notifications go. Emulator default: none sent. */
  vodCallbackUrl?: string;
  /** EMULATOR_VOD_CALLBACK_KEY: the callback's private key (signs notifications). */
  vodCallbackKey?: string;
  /** EMULATOR_VOD_PROCESSING_MS: simulated transcoding time. Emulator default: 2000. */
  processingMs?: number;
  /** EMULATOR_VOD_CALLBACK_RETRY_MS: pause before each notification retry. Emulator default: 1000. */
  callbackRetryMs?: number;
  /** EMULATOR_VOD_CALLBACK_TIMEOUT_MS: a notification try's deadline. Emulator default: 5000. */
  callbackTimeoutMs?: number;
  /** More environment for the process. */
  env?: Record<string, string>;
}

/** The environment the options above stand for (only those given). */
function optionEnv(o: StartEmulatorOptions): Record<string, string> {
  const env: Record<string, string> = {};
  if (o.tokenTtlSeconds) env.EMULATOR_TOKEN_TTL_SECONDS = String(o.tokenTtlSeconds);
  if (o.corsOrigins) env.EMULATOR_CORS_ORIGINS = o.corsOrigins.join(',');
  if (o.vodCallbackUrl) env.EMULATOR_VOD_CALLBACK_URL = o.vodCallbackUrl;
  if (o.vodCallbackKey) env.EMULATOR_VOD_CALLBACK_KEY = o.vodCallbackKey;
  if (o.processingMs !== undefined) env.EMULATOR_VOD_PROCESSING_MS = String(o.processingMs);
  if (o.callbackRetryMs !== undefined) env.EMULATOR_VOD_CALLBACK_RETRY_MS = String(o.callbackRetryMs);
  if (o.callbackTimeoutMs !== undefined) env.EMULATOR_VOD_CALLBACK_TIMEOUT_MS = String(o.callbackTimeoutMs);
  return env;
}

/** Starts the emulator as a child process on a free port with its own data directory. */
export async function startEmulator(options: StartEmulatorOptions = {}): Promise<TestEmulator> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vod-ingest-emulator-'));
  const accessKeyId = 'LTAI5tTestKeyForEmulator';
  const accessKeySecret = `test-secret-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const bucket = 'vod-ingest-test';
  const region = 'cn-shanghai';
  const env: Record<string, string> = {
    PORT: '0',
    EMULATOR_HOST: '127.0.0.1',
    EMULATOR_ACCESS_KEY_ID: accessKeyId,
    EMULATOR_ACCESS_KEY_SECRET: accessKeySecret,
    EMULATOR_BUCKETS: bucket,
    EMULATOR_REGION: region,
    EMULATOR_DATA_DIR: dataDir,
    EMULATOR_ADMIN: options.admin === false ? '0' : '1',
    LOG_LEVEL: 'info',
    ...optionEnv(options),
    ...options.env,
  };
  const proc = startServiceProcess('emulator', env);
  const ready = await proc.waitForLog('EmulatorListening');
  const port = Number(ready.port);
  const url = `http://localhost:${port}`;

  const admin = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}/__emulator/${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`emulator admin ${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };

  return {
    proc,
    url,
    hostPort: `localhost:${port}`,
    port,
    accessKeyId,
    accessKeySecret,
    bucket,
    vodBucket: String(ready.vodBucket),
    region,
    stats: () => admin('GET', 'stats'),
    resetStats: async () => void (await admin('DELETE', 'stats')),
    addFaults: async (rules) => void (await admin('POST', 'faults', { rules })),
    clearFaults: async () => void (await admin('DELETE', 'faults')),
    admin,
    async stop() {
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
