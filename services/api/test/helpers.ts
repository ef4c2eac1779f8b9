import { createHash } from 'node:crypto';
import OSS from 'ali-oss';
import {
  startEmulator,
  startHttpService,
  startTestRedis,
  startTokenService,
  writeTenantsFile,
  type StartEmulatorOptions,
  type TestEmulator,
  type TestRedis,
  type TestService,
} from '@vod-ingest/shared/testing';
import { replyProblem } from './openapi.check.js';

/** API keys the tests configure: tenant → key. */
export const KEYS = {
  acme: 'acme-key-0123456789abcdef',
  globex: 'globex-key-0123456789abcdef',
  limited: 'limited-key-0123456789abcdef',
} as const;

export const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** `API_KEYS` for KEYS; `globex` in the hashed form, as an operator keeping no plaintext would. */
export const API_KEYS_ENV = [`acme:${KEYS.acme}`, `globex:sha256:${sha256Hex(KEYS.globex)}`, `limited:${KEYS.limited}`].join(',');

/**
 * The tests' tenants file: acme may write anywhere in the buckets the tests name and use VOD; the
 * other tenants come from `API_KEYS` only (VOD, no OSS). Keys stay in `API_KEYS`, so acme's rights
 * come from the file and its key from the variable, as an operator may mix them.
 */
export const TENANTS_FILE = writeTenantsFile({
  acme: { vod: true, oss: ['media-bucket', 'media-b', 'vod-ingest-media', 'vod-ingest-test'].map((bucket) => ({ bucket, prefix: '' })) },
});

/** Redis, the emulator and the real token service, as the api runs against them. */
export interface Stack {
  redis: TestRedis;
  emu: TestEmulator;
  token: TestService & { secret: string };
  stop(): Promise<void>;
}

export async function startStack(emulator: StartEmulatorOptions = {}): Promise<Stack> {
  const [redis, emu] = await Promise.all([startTestRedis(), startEmulator(emulator)]);
  const token = await startTokenService({ emulator: emu, redisUrl: redis.url, env: { TENANTS_FILE } });
  return {
    redis,
    emu,
    token,
    async stop() {
      await token.stop();
      await Promise.all([emu.stop(), redis.stop()]);
    },
  };
}

/** Starts the api (compiled, as production runs it) with the test environment plus `env`. */
export function startApi(
  s: { redisUrl: string; emu: TestEmulator; tokenUrl: string; tokenSecret: string },
  env: Record<string, string> = {},
): Promise<TestService> {
  return startHttpService('api', {
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: s.redisUrl,
    API_KEYS: API_KEYS_ENV,
    TENANTS_FILE,
    TOKEN_SERVICE_URL: s.tokenUrl,
    TOKEN_SERVICE_SECRET: s.tokenSecret,
    VOD_ENDPOINT: s.emu.url,
    OSS_ENDPOINT: s.emu.url,
    ALIBABA_CLOUD_REGION_ID: s.emu.region,
    LOG_LEVEL: 'info',
    // Every job on the main `ingest` queue the tests inspect (lanes: services/worker/test/ingest-lanes.test.ts, test/e2e/lanes.e2e.test.ts).
    SMALL_JOB_BYTES: '0',
    ...env,
  });
}

export interface Reply<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T & { error?: { code: string; message: string; details: Array<{ field: string; message: string }> } };
}

/** Any request to the api as a client would send it: bearer key, JSON body (a string is sent verbatim). */
export async function call<T = Record<string, unknown>>(
  api: TestService,
  method: string,
  urlPath: string,
  o: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...(o.key ? { authorization: `Bearer ${o.key}` } : {}) };
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${api.url}${urlPath}`, {
    method,
    headers: { ...headers, ...o.headers },
    body: o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body),
  });
  const text = await res.text();
  const body = text ? JSON.parse(text) : {};
  // Every reply a test sees must be what the OpenAPI document says.
  const problem = replyProblem(method, urlPath, res.status, res.headers.get('content-type'), text ? body : undefined);
  if (problem) throw new Error(problem);
  return { status: res.status, headers: res.headers, body };
}

/** `POST` to the api as a client app would. */
export function post<T = Record<string, unknown>>(api: TestService, urlPath: string, o: Parameters<typeof call>[3] = {}): Promise<Reply<T>> {
  return call<T>(api, 'POST', urlPath, o);
}

/** The reply of `POST /v1/sts-tokens`. */
export interface StsTokenReply {
  AccessKeyId: string;
  AccessKeySecret: string;
  SecurityToken: string;
  Expiration: string;
  Region: string;
}

/** ali-oss configured exactly as a client app does with an STS token: three values, endpoint, bucket. */
export function clientOss(c: { AccessKeyId: string; AccessKeySecret: string; SecurityToken: string }, at: { endpoint: string; bucket: string }): OSS {
  return new OSS({
    endpoint: at.endpoint,
    sldEnable: true,
    accessKeyId: c.AccessKeyId,
    accessKeySecret: c.AccessKeySecret,
    stsToken: c.SecurityToken,
    bucket: at.bucket,
  } as OSS.Options);
}

/** Decodes VOD's base64 JSON (`UploadAddress`, `UploadAuth`). */
export const decode = <T>(b64: unknown): T => JSON.parse(Buffer.from(String(b64), 'base64').toString('utf8')) as T;

/** Asserts nothing in `output` contains any of `secrets`; returns the first leaked one, if any. */
export function leaked(output: string, secrets: string[]): string | undefined {
  return secrets.find((s) => s.length > 0 && output.includes(s));
}
