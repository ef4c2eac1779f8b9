import { createHash, randomBytes } from 'node:crypto';
import type { TestEmulator } from './emulator.js';
import { startServiceProcess, type ServiceProcess } from './service-process.js';

/** Role ARNs the tests use (the emulator accepts any well-formed ARN). */
export const TEST_INGEST_ROLE_ARN = 'acs:ram::1234567890123456:role/vod-ingest-worker';
export const TEST_CLIENT_ROLE_ARN = 'acs:ram::1234567890123456:role/vod-ingest-client';

/** A running HTTP service process. */
export interface TestService {
  readonly proc: ServiceProcess;
  readonly url: string;
  readonly port: number;
  stop(): Promise<number | null>;
}

export interface StartTokenServiceOptions {
  emulator: TestEmulator;
  redisUrl: string;
  /** TOKEN_SERVICE_SECRET; random when omitted. */
  secret?: string;
  /** TOKEN_CACHE_KEY (base64, 32 bytes); derived from the secret (replicas must share it) unless `null`. */
  cacheKey?: string | null;
  /** Redis key prefix, so tests sharing a Redis stay apart. */
  keyPrefix?: string;
  env?: Record<string, string>;
}

export async function startTokenService(o: StartTokenServiceOptions): Promise<TestService & { secret: string }> {
  const secret = o.secret ?? `svc-${randomBytes(12).toString('hex')}`;
  const env: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: o.redisUrl,
    TOKEN_SERVICE_SECRET: secret,
    ALIBABA_CLOUD_ACCESS_KEY_ID: o.emulator.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: o.emulator.accessKeySecret,
    ALIBABA_CLOUD_REGION_ID: o.emulator.region,
    STS_ENDPOINT: o.emulator.url,
    ALIBABA_CLOUD_ROLE_ARN: TEST_INGEST_ROLE_ARN,
    CLIENT_ROLE_ARN: TEST_CLIENT_ROLE_ARN,
    LOG_LEVEL: 'info',
    ...(o.cacheKey === null ? {} : { TOKEN_CACHE_KEY: o.cacheKey ?? createHash('sha256').update(`cache:${secret}`).digest('base64') }),
    ...(o.keyPrefix ? { TOKEN_KEY_PREFIX: o.keyPrefix } : {}),
    ...o.env,
  };
  return { ...(await startHttpService('token', env)), secret };
}

/** Starts `services/<name>` with PORT=0 and waits for its `Listening` log line. */
export async function startHttpService(name: string, env: Record<string, string>): Promise<TestService> {
  const proc = startServiceProcess(name, env);
  const ready = await proc.waitForLog('Listening');
  const port = Number(ready.port);
  return { proc, port, url: `http://127.0.0.1:${port}`, stop: (grace?: number) => proc.stop(grace) };
}
