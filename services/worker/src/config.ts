import { z } from 'zod';
import { DEFAULT_SMALL_JOB_BYTES, env, KEY_PREFIX, MAX_REDIS_SHARDS, redisEnv, redisTarget, tenantsFileVar } from '@vod-ingest/shared';

const MiB = 1024 * 1024;
const key32 = z
  .string()
  .refine((s) => Buffer.from(s, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
  .optional();

/** The worker's environment. Defaults suit `npm start` against the emulator. */
export const workerConfigSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).optional(),
    WORKER_PORT: env.port(3002),
    HOST: z.string().default('0.0.0.0'),
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    ...redisEnv,
    /** Prefix of the BullMQ queues and job keys; the api must use the same. Must carry a Redis Cluster hash tag (`{…}`). */
    KEY_PREFIX: env.keyPrefix(KEY_PREFIX),
    /** Shards the ingest queues, job records and events are split into, each under a hash tag of its own (a slot; N masters share N shards). Every api and worker must use the same; changing it moves the shards (drain first). */
    REDIS_SHARDS: env.int(1, 1, MAX_REDIS_SHARDS),
    /** Approximate length the global event stream `{prefix}:events` is trimmed to (XADD MAXLEN ~): how many events a webhook dispatcher outage may leave behind before the oldest are lost. */
    EVENTS_MAXLEN: env.int(100_000, 1000, 100_000_000),
    /** Days a finished job (or direct upload) is kept, with its events and its place in the tenant's list. */
    JOB_RETENTION_DAYS: env.int(7, 1, 3650),
    /** This worker's name in the webhook stream's consumer group: `<WORKER_ID>-<slot>`, the lowest slot no live process holds. Defaults to the host name. */
    WORKER_ID: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" and "-"')
      .optional(),
    /** Seconds between two looks for jobs recorded but never put on the ingest queue (an api crash between the two); 0 turns it off. */
    ENQUEUE_SWEEP_SECONDS: z.coerce.number().min(0).max(3600).default(15),
    /** Spool files (url sources being downloaded) older than this many seconds are removed at start-up. */
    SPOOL_MAX_AGE_SECONDS: env.int(3600, 60),
    /** Tries per ingest job and first retry delay (doubling), for jobs the enqueue sweeper puts on the queue: the api's JOB_ATTEMPTS and JOB_BACKOFF_SECONDS. */
    JOB_ATTEMPTS: env.int(5, 1, 100),
    JOB_BACKOFF_SECONDS: env.int(5, 1, 86_400),
    TOKEN_SERVICE_URL: z.string().url().default('http://127.0.0.1:3001'),
    TOKEN_SERVICE_SECRET: z.string({ error: 'required: the token service bearer secret' }).min(1),
    ALIBABA_CLOUD_REGION_ID: z
      .string()
      .regex(/^[a-z]{2,}-[a-z0-9-]+$/, 'a region id such as cn-shanghai')
      .default('cn-shanghai'),
    /** VOD endpoint; defaults to `vod.<region>.aliyuncs.com`. */
    VOD_ENDPOINT: z.string().min(1).optional(),
    /** OSS endpoint of oss targets; defaults to `https://oss-<region>.aliyuncs.com`. */
    OSS_ENDPOINT: z.string().url().optional(),
    /** Path-style OSS requests (`endpoint/bucket/key`), for an emulator reached by a host name such as `emulator:9100`. Unset: only for localhost endpoints. */
    OSS_PATH_STYLE: env.bool(false),
    INGEST_ROOTS: env.list(),
    URL_ALLOWLIST: env.list(),
    /** Opens the url-source headers the api sealed; the api's SOURCE_HEADERS_KEY. */
    SOURCE_HEADERS_KEY: key32,
    /** Where url sources are downloaded to before upload. Defaults to the OS temp dir. */
    SPOOL_DIR: z.string().optional(),
    /** Largest url source accepted, in bytes. Defaults to 50 GiB. */
    MAX_SOURCE_BYTES: env.int(50 * 1024 * MiB, 1),
    /** Ingest jobs one worker process runs at once. */
    WORKER_CONCURRENCY: env.int(2, 1, 64),
    /** Small-lane jobs (`ingest-small`: file sources up to the api's SMALL_JOB_BYTES) one worker process runs at once, besides WORKER_CONCURRENCY: a small job has a slot even while big uploads hold every main slot. 0 serves no small lane (another worker must). */
    WORKER_SMALL_CONCURRENCY: env.int(2, 0, 64),
    /** The api's SMALL_JOB_BYTES: the lane the enqueue sweeper puts a file-source job on. */
    SMALL_JOB_BYTES: env.int(DEFAULT_SMALL_JOB_BYTES, 0),
    /** Default part size and parallelism of jobs that do not set them. */
    DEFAULT_PART_SIZE: env.int(8 * MiB, 100 * 1024, 5 * 1024 * MiB),
    DEFAULT_PARALLEL: env.int(5, 1, 32),
    /** Seconds a worker's job lock lives without renewal; a crashed worker's job is taken over after about this long. */
    JOB_LOCK_SECONDS: env.int(30, 2, 600),
    /** Seconds between two `job.progress` events of one job. */
    PROGRESS_INTERVAL_SECONDS: z.coerce.number().min(0).max(3600).default(2),
    WEBHOOK_URLS: env.list(),
    /** Standard Webhooks secret, `whsec_<base64>`; required when webhooks are configured (jobs may carry a callbackUrl). */
    WEBHOOK_SECRET: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/=]{32,}$/, 'must be whsec_<base64 of at least 24 bytes>')
      .optional(),
    /** Delays (ms) before each webhook retry, comma-separated: a delivery is tried once plus once per entry. */
    WEBHOOK_RETRY_SCHEDULE_MS: env.list(['5000', '30000', '120000', '600000', '1800000', '3600000', '10800000', '21600000', '43200000', '86400000']),
    WEBHOOK_CONCURRENCY: env.int(10, 1, 200),
    /** Seconds a SIGTERM waits for running uploads to reach a part boundary. */
    SHUTDOWN_GRACE_SECONDS: env.int(25, 1, 3600),
    /** Tenants (the api's file): a job's target is checked against its tenant before the first byte. Unset: every tenant may use VOD only. */
    TENANTS_FILE: tenantsFileVar,
    LOG_LEVEL: env.logLevel(),
  })
  .superRefine((c, ctx) => {
    for (const [i, ms] of c.WEBHOOK_RETRY_SCHEDULE_MS.entries()) {
      if (!/^\d+$/.test(ms)) ctx.addIssue({ code: 'custom', path: ['WEBHOOK_RETRY_SCHEDULE_MS', i], message: 'must be whole milliseconds' });
    }
  })
  .transform((c, ctx) => ({
    ...c,
    redis: redisTarget(c, ctx),
    port: c.PORT ?? c.WORKER_PORT,
    vodEndpoint: c.VOD_ENDPOINT ?? `vod.${c.ALIBABA_CLOUD_REGION_ID}.aliyuncs.com`,
    ossEndpoint: c.OSS_ENDPOINT ?? `https://oss-${c.ALIBABA_CLOUD_REGION_ID}.aliyuncs.com`,
    webhookRetryScheduleMs: c.WEBHOOK_RETRY_SCHEDULE_MS.map(Number),
  }));

export type WorkerConfig = z.infer<typeof workerConfigSchema>;
