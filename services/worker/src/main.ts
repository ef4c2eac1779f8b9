import { Queue } from 'bullmq';
import {
  CacheCipher,
  createBaseApp,
  createLogger,
  createRedis,
  createRegistry,
  finishApp,
  handleShutdown,
  JobStore,
  listen,
  loadConfig,
  OpenApiVodClient,
  QUEUES,
  startOrExit,
  TenantCredentials,
  Tenants,
  waitForRedis,
} from '@vod-ingest/shared';
import { workerConfigSchema } from './config.js';
import { spoolUrlSource } from './sources/url-source.js';
import { CheckpointStore } from './upload/checkpoint.store.js';
import { createEventWorkers } from './events/index.js';
import { createWorker } from './worker.js';
import { createWorkerMetrics, type QueueCounts } from './worker.metrics.js';
import { EnqueueSweeper } from './ingest/enqueue-sweeper.js';
import { sweepSpool } from './spool-sweep.js';

const config = loadConfig(workerConfigSchema, 'worker');
const log = createLogger('worker', { level: config.LOG_LEVEL });
const connection = createRedis(config.redis, { blocking: true, name: 'worker', log, probeKey: config.KEY_PREFIX });
await startOrExit('worker', () => waitForRedis(connection, config.redis));
await sweepSpool({ dir: config.SPOOL_DIR, maxAgeMs: config.SPOOL_MAX_AGE_SECONDS * 1000, log }).catch((err) => log.warn({ err }, 'SpoolSweepFailed'));
const registry = createRegistry('worker');
const jobs = new JobStore(connection, { prefix: config.KEY_PREFIX, streamMaxLen: config.EVENTS_MAXLEN });
const ingestCredentials = new TenantCredentials({ url: config.TOKEN_SERVICE_URL, secret: config.TOKEN_SERVICE_SECRET, profile: 'ingest' });

let counts: QueueCounts | undefined;
const metrics = createWorkerMetrics(registry, () => counts?.() ?? Promise.resolve({}));
const ingest = createWorker({
  connection,
  prefix: config.KEY_PREFIX,
  jobs,
  concurrency: config.WORKER_CONCURRENCY,
  lockDurationMs: config.JOB_LOCK_SECONDS * 1000,
  log,
  ingest: {
    tenants: new Tenants(config.TENANTS_FILE),
    checkpoints: new CheckpointStore(connection, config.KEY_PREFIX),
    sources: {
      ingestRoots: config.INGEST_ROOTS,
      headerCipher: config.SOURCE_HEADERS_KEY ? new CacheCipher(config.SOURCE_HEADERS_KEY) : undefined,
      spoolUrl: (req) =>
        spoolUrlSource({ ...req, spoolDir: config.SPOOL_DIR, maxBytes: config.MAX_SOURCE_BYTES, policy: { allowlist: config.URL_ALLOWLIST }, log }),
    },
    targets: {
      vod: new OpenApiVodClient({ endpoint: config.vodEndpoint, region: config.ALIBABA_CLOUD_REGION_ID }),
      ingest: ingestCredentials,
      jobs,
      ossEndpoint: config.ossEndpoint,
      ossPathStyle: config.OSS_PATH_STYLE || undefined,
      region: config.ALIBABA_CLOUD_REGION_ID,
      metrics,
      log,
    },
    metrics,
    log,
    defaults: { partSize: config.DEFAULT_PART_SIZE, parallel: config.DEFAULT_PARALLEL, retryCount: 3, retryDurationMs: 2000 },
    progressIntervalMs: config.PROGRESS_INTERVAL_SECONDS * 1000,
  },
});
const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'paused', 'prioritized'] as const;
const webhookQueue = new Queue(QUEUES.webhooks, { connection, prefix: config.KEY_PREFIX });
counts = async () => ({
  [QUEUES.ingest]: await ingest.queue.getJobCounts(...STATES),
  [QUEUES.webhooks]: await webhookQueue.getJobCounts(...STATES),
});

const events = createEventWorkers({
  connection,
  store: jobs,
  prefix: config.KEY_PREFIX,
  webhookUrls: config.WEBHOOK_URLS,
  webhookSecret: config.WEBHOOK_SECRET,
  allowlist: config.URL_ALLOWLIST,
  retryScheduleMs: config.webhookRetryScheduleMs,
  concurrency: config.WEBHOOK_CONCURRENCY,
  // Stream consumer `<WORKER_ID or host>-<slot>`; a dead process's entries and deliveries are taken over after the lock.
  lockMs: config.JOB_LOCK_SECONDS * 1000,
  consumerBase: config.WORKER_ID,
  registry,
  log,
});

const enqueueSweeper =
  config.ENQUEUE_SWEEP_SECONDS > 0
    ? new EnqueueSweeper({
        redis: connection,
        prefix: config.KEY_PREFIX,
        attempts: config.JOB_ATTEMPTS,
        backoffSeconds: config.JOB_BACKOFF_SECONDS,
        intervalMs: config.ENQUEUE_SWEEP_SECONDS * 1000,
        log,
      })
    : undefined;
enqueueSweeper?.start();

const app = finishApp(
  createBaseApp({
    log,
    registry,
    readiness: {
      redis: async () => void (await connection.ping()),
      tokenService: () => ingestCredentials.ready(),
    },
  }),
  log,
);
const { server, port } = await startOrExit('worker', () => listen(app, config.port, config.HOST));
log.info({ port, concurrency: config.WORKER_CONCURRENCY }, 'Listening');

const graceMs = config.SHUTDOWN_GRACE_SECONDS * 1000;
handleShutdown(
  server,
  log,
  async () => {
    await enqueueSweeper?.close();
    await ingest.close(graceMs);
    await Promise.all([events.close(), webhookQueue.close()]);
    await connection.quit().catch(() => connection.disconnect());
  },
  graceMs + 5000,
);
