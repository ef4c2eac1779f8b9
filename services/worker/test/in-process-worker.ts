import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { createLogger, createRedis, JobStore, parseConfig, Tenants, waitForRedis } from '@vod-ingest/shared';
import {
  startEmulator,
  startTestRedis,
  startTokenService,
  writeTenantsFile,
  type TestEmulator,
  type TestRedis,
  type TestService,
} from '@vod-ingest/shared/testing';
import { BullIngestQueue } from '../../api/src/ingest.queue.js';
import type { JobSubmissionDeps } from '../../api/src/job-submission.js';
import { workerConfigSchema } from '../src/config.js';
import { createWorkerService } from '../src/worker.js';

/** A worker built in the test's own process, with the api's submission path beside it. */
export interface InProcessWorker {
  redis: TestRedis;
  emu: TestEmulator;
  token: TestService & { secret: string };
  /** The worker's INGEST_ROOTS: holds `clip.mp4`. */
  inbox: string;
  /** The worker's connection (blocking), which its BullMQ workers and job store share. */
  workerConnection: Redis;
  service: ReturnType<typeof createWorkerService>;
  /** What `submitJob` (the api's POST /v1/jobs) needs, on a connection of its own, for tenant `acme`. */
  submit: JobSubmissionDeps;
  stop(): Promise<void>;
}

/**
 * For tests that look inside a worker (its listeners, heap, socket writes): one worker built by the
 * same createWorkerService as main.ts, against a redis-server, the emulator and the token service of
 * its own, with `clip.mp4` (`fileBytes` bytes) in its inbox and tenant `acme` allowed the emulator's
 * bucket. Its log lines go to `workerLog`, the api's to `apiLog`; `env` adds worker settings.
 */
export async function startInProcessWorker(o: {
  fileBytes: number;
  workerLog: Writable;
  apiLog: Writable;
  env?: Record<string, string>;
}): Promise<InProcessWorker> {
  const [redis, emu] = await Promise.all([startTestRedis(), startEmulator()]);
  const tenantsFile = writeTenantsFile({ acme: { oss: [{ bucket: emu.bucket, prefix: '' }] } });
  const token = await startTokenService({ emulator: emu, redisUrl: redis.url, env: { TENANTS_FILE: tenantsFile } });
  const inbox = mkdtempSync(path.join(tmpdir(), 'worker-inbox-'));
  writeFileSync(path.join(inbox, 'clip.mp4'), Buffer.alloc(o.fileBytes, 7));

  const config = parseConfig(workerConfigSchema, {
    REDIS_URL: redis.url,
    TOKEN_SERVICE_URL: token.url,
    TOKEN_SERVICE_SECRET: token.secret,
    VOD_ENDPOINT: emu.hostPort,
    OSS_ENDPOINT: emu.url,
    ALIBABA_CLOUD_REGION_ID: emu.region,
    INGEST_ROOTS: inbox,
    TENANTS_FILE: tenantsFile,
    URL_ALLOWLIST: '127.0.0.1,localhost',
    WEBHOOK_SECRET: `whsec_${Buffer.alloc(24, 3).toString('base64')}`,
    LOG_LEVEL: 'info',
    ...o.env,
  });
  const workerLog = createLogger('worker', { destination: o.workerLog });
  const workerConnection = createRedis(config.redis, { blocking: true, name: 'worker', log: workerLog, probeKey: config.KEY_PREFIX });
  await waitForRedis(workerConnection, config.redis);
  const service = createWorkerService(config, workerConnection, workerLog);

  // The api's side, as services/api/src/main.ts wires it (JOB_ATTEMPTS 3), but on a connection
  // without the api's 2 s command timeout: on a loaded machine a slow reply would fail a submission
  // with 503 (the api's fail-fast answer, which a client retries), and that is not these tests' subject.
  const apiLog = createLogger('api', { destination: o.apiLog });
  const apiConnection = createRedis(config.redis, { blocking: true, name: 'api', log: apiLog });
  const submit: JobSubmissionDeps = {
    log: apiLog,
    store: new JobStore(apiConnection, { prefix: config.KEY_PREFIX }),
    queue: new BullIngestQueue(apiConnection, { prefix: config.KEY_PREFIX, attempts: 3, backoffSeconds: 1 }),
    policy: { ingestRoots: [inbox], allowlist: [] },
    tenants: new Tenants(config.TENANTS_FILE),
  };
  return {
    redis,
    emu,
    token,
    inbox,
    workerConnection,
    service,
    submit,
    async stop() {
      await service.close(5000);
      await submit.queue.close();
      workerConnection.disconnect();
      apiConnection.disconnect();
      await token.stop();
      await Promise.all([emu.stop(), redis.stop()]);
      rmSync(inbox, { recursive: true, force: true });
      rmSync(path.dirname(tenantsFile), { recursive: true, force: true });
    },
  };
}
