import { setMaxListeners } from 'node:events';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  CacheCipher,
  createBaseApp,
  createRegistry,
  finishApp,
  ingestLaneQueues,
  JobStore,
  OpenApiVodClient,
  QUEUES,
  shardPrefixes,
  TenantCredentials,
  Tenants,
  type IngestJobData,
  type IngestLane,
  type Logger,
} from '@vod-ingest/shared';
import type { WorkerConfig } from './config.js';
import { createEventWorkers } from './events/index.js';
import { EnqueueSweeper } from './ingest/enqueue-sweeper.js';
import { createIngestProcessor, type IngestDeps } from './ingest/upload.processor.js';
import { spoolUrlSource } from './sources/url-source.js';
import { CheckpointStore } from './upload/checkpoint.store.js';
import { createWorkerMetrics, type QueueCounts } from './worker.metrics.js';

export interface WorkerDeps {
  /** A blocking connection (`createRedis(url, { blocking: true })`); BullMQ duplicates it as needed. */
  connection: Redis;
  prefix: string;
  jobs: JobStore;
  ingest: Omit<IngestDeps, 'shutdown' | 'jobs'>;
  /** Main-lane ingest jobs run at once by this process. */
  concurrency: number;
  /** Small-lane jobs (`ingest-small`) run at once besides `concurrency`; 0 or unset: no small-lane Worker. */
  smallConcurrency?: number;
  /** Lock lifetime (ms); a crashed worker's job is taken over after about this long. */
  lockDurationMs: number;
  log: Logger;
}

export interface IngestWorker {
  /** The main lane's Worker. */
  worker: Worker<IngestJobData>;
  queue: Queue<IngestJobData>;
  /** The small lane's Worker (same processor, slots of its own), unless `smallConcurrency` is 0. */
  smallWorker?: Worker<IngestJobData>;
  smallQueue: Queue<IngestJobData>;
  /** Aborted when `close` begins; every running attempt listens to it (and must stop listening when it ends). */
  shutdown: AbortSignal;
  /** Stops taking jobs; running uploads stop at a part boundary and go back to the queue. */
  close(graceMs: number): Promise<void>;
}

/**
 * The ingest lanes' BullMQ workers, wired to one upload processor: the main lane's with
 * `concurrency` slots, the small lane's with `smallConcurrency` slots of its own, so a small job
 * never waits for a big upload to end (priorities inside one queue would not do that: with every
 * slot busy, nothing starts until a running job ends).
 */
export function createWorker(deps: WorkerDeps): IngestWorker {
  const shutdown = new AbortController();
  const smallConcurrency = deps.smallConcurrency ?? 0;
  // Each running attempt listens here until it ends: up to `concurrency + smallConcurrency`
  // listeners, no leak. Node warns (MaxListenersExceededWarning) past 10 by default; past that it is a leak.
  setMaxListeners(Math.max(10, deps.concurrency + smallConcurrency), shutdown.signal);
  const processor = createIngestProcessor({ ...deps.ingest, jobs: deps.jobs, shutdown: shutdown.signal });
  const laneWorker = (lane: IngestLane, concurrency: number) => {
    const worker = new Worker<IngestJobData>(lane, processor, {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency,
      lockDuration: deps.lockDurationMs,
      stalledInterval: Math.max(1000, Math.floor(deps.lockDurationMs / 2)),
      maxStalledCount: 3,
    });
    worker.on('error', (err) => deps.log.warn({ err, lane }, 'WorkerError'));
    // A job that stalled more often than allowed is failed by the next worker that takes it, before
    // any processor runs: BullMQ says so on that worker's own 'failed' event (no QueueEvents reader
    // of every queue event in every worker).
    worker.on('failed', (job, err) => {
      if (job?.deferredFailure && err.message === job.deferredFailure) void markFailedOutsideProcessor(deps, job.data.jobId, err.message);
    });
    return worker;
  };
  const worker = laneWorker(QUEUES.ingest, deps.concurrency);
  const smallWorker = smallConcurrency > 0 ? laneWorker(QUEUES.ingestSmall, smallConcurrency) : undefined;
  const { [QUEUES.ingest]: queue, [QUEUES.ingestSmall]: smallQueue } = ingestLaneQueues(deps.connection, deps.prefix);
  return {
    worker,
    queue,
    smallWorker,
    smallQueue,
    shutdown: shutdown.signal,
    async close(graceMs) {
      shutdown.abort();
      const graceOver = new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs).unref());
      const closed = Promise.all([worker.close(), smallWorker?.close()]);
      if ((await Promise.race([closed, graceOver])) === 'late') deps.log.warn({ graceMs }, 'ShutdownGraceExceeded');
      await Promise.all([queue.close(), smallQueue.close()]);
    },
  };
}

/**
 * A job BullMQ failed without its processor saying so (it stalled more often than allowed, for
 * example after repeated crashes): its record is failed too, once (the store's transition guards).
 */
async function markFailedOutsideProcessor(deps: WorkerDeps, jobId: string | undefined, reason: string): Promise<void> {
  if (!jobId) return;
  try {
    const event = await deps.jobs.fail(jobId, { code: 'JOB_STALLED', message: reason, retryable: false });
    if (event) deps.log.error({ jobId, reason }, 'JobFailedByQueue');
  } catch (err) {
    deps.log.warn({ jobId, err }, 'JobFailureNotRecorded');
  }
}

/**
 * A worker process's parts, built from its config: per shard (REDIS_SHARDS) the ingest worker on
 * both lanes, the event workers and the enqueue sweeper, and the HTTP app, on `connection`
 * (blocking, Redis reachable). Each shard gets `ceil(WORKER_CONCURRENCY / shards)` main-lane and
 * `ceil(WORKER_SMALL_CONCURRENCY / shards)` small-lane slots, so one process runs about as many
 * uploads with several shards as with one, and every shard has a slot in every worker. `main.ts`
 * adds the listening socket and the signals; tests drive it in-process. `close` leaves
 * `connection` open. `ingest` and `jobs` are shard 0's.
 */
export function createWorkerService(config: WorkerConfig, connection: Redis, log: Logger) {
  const registry = createRegistry('worker');
  const prefixes = shardPrefixes(config.KEY_PREFIX, config.REDIS_SHARDS);
  const perShard = (slots: number) => Math.ceil(slots / prefixes.length);
  const ingestCredentials = new TenantCredentials({ url: config.TOKEN_SERVICE_URL, secret: config.TOKEN_SERVICE_SECRET, profile: 'ingest' });
  let counts: QueueCounts | undefined;
  const metrics = createWorkerMetrics(registry, () => counts?.() ?? Promise.resolve({}));
  const tenants = new Tenants(config.TENANTS_FILE);
  const vod = new OpenApiVodClient({ endpoint: config.vodEndpoint, region: config.ALIBABA_CLOUD_REGION_ID });
  const sources: IngestDeps['sources'] = {
    ingestRoots: config.INGEST_ROOTS,
    headerCipher: config.SOURCE_HEADERS_KEY ? new CacheCipher(config.SOURCE_HEADERS_KEY) : undefined,
    spoolUrl: (req) =>
      spoolUrlSource({ ...req, spoolDir: config.SPOOL_DIR, maxBytes: config.MAX_SOURCE_BYTES, policy: { allowlist: config.URL_ALLOWLIST }, log }),
  };
  const shards = prefixes.map((prefix) => {
    const jobs = new JobStore(connection, {
      prefix,
      streamMaxLen: config.EVENTS_MAXLEN,
      retentionSeconds: config.JOB_RETENTION_DAYS * 86_400,
    });
    const ingest = createWorker({
      connection,
      prefix,
      jobs,
      concurrency: perShard(config.WORKER_CONCURRENCY),
      smallConcurrency: perShard(config.WORKER_SMALL_CONCURRENCY),
      lockDurationMs: config.JOB_LOCK_SECONDS * 1000,
      log,
      ingest: {
        tenants,
        checkpoints: new CheckpointStore(connection, prefix),
        sources,
        targets: {
          vod,
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
    const webhookQueue = new Queue(QUEUES.webhooks, { connection, prefix });
    const events = createEventWorkers({
      connection,
      store: jobs,
      prefix,
      sharedPrefix: config.KEY_PREFIX,
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
            prefix,
            attempts: config.JOB_ATTEMPTS,
            backoffSeconds: config.JOB_BACKOFF_SECONDS,
            smallJobBytes: config.SMALL_JOB_BYTES,
            intervalMs: config.ENQUEUE_SWEEP_SECONDS * 1000,
            log,
          })
        : undefined;
    enqueueSweeper?.start();
    return { jobs, ingest, webhookQueue, events, enqueueSweeper };
  });
  const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'paused', 'prioritized'] as const;
  // Each queue's counts, summed over the shards.
  const countsOf = async (queues: Queue[]) => {
    const all = await Promise.all(queues.map((q) => q.getJobCounts(...STATES)));
    const sum: Record<string, number> = {};
    for (const c of all) for (const [state, n] of Object.entries(c)) sum[state] = (sum[state] ?? 0) + n;
    return sum;
  };
  counts = async () => ({
    [QUEUES.ingest]: await countsOf(shards.map((s) => s.ingest.queue)),
    [QUEUES.ingestSmall]: await countsOf(shards.map((s) => s.ingest.smallQueue)),
    [QUEUES.webhooks]: await countsOf(shards.map((s) => s.webhookQueue)),
  });
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
  return {
    app,
    ingest: shards[0].ingest,
    jobs: shards[0].jobs,
    shards,
    async close(graceMs: number) {
      await Promise.all(shards.map((s) => s.enqueueSweeper?.close()));
      await Promise.all(shards.map((s) => s.ingest.close(graceMs)));
      await Promise.all(shards.flatMap((s) => [s.events.close(), s.webhookQueue.close()]));
    },
  };
}
