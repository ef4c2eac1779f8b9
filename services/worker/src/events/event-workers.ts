import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { AppError, createRedis, KEY_PREFIX, QUEUES, signWebhook, type JobStore, type Logger, type RedisTarget } from '@vod-ingest/shared';
import { WebhookDispatcher, type WebhookDispatcherOptions } from './webhook.dispatcher.js';
import { WebhookEndpointStore } from './webhook-endpoint.store.js';
import { DEFAULT_RETRY_SCHEDULE_MS, type WebhookJobData } from './webhook.job.js';
import { webhookMetrics } from './webhook.metrics.js';
import { createWebhookAgent, WEBHOOK_TIMEOUT_MS } from './webhook.sender.js';
import { createWebhookWorker } from './webhook.worker.js';

/** What `createEventWorkers` needs. */
export interface EventWorkersDeps {
  /**
   * A Redis connection to share (created with `createRedis(url, {blocking: true})`; left open on
   * close). The blocking reads get their own duplicates. Give this or `redisUrl`.
   */
  connection?: Redis;
  /** REDIS_URL (or the cluster target), when no `connection` is given: a connection is opened and closed here. */
  redisUrl?: string | RedisTarget;
  /** Reads each job's `callbackUrl`; its `keys.events` is the stream dispatched from. */
  store: JobStore;
  /** BullMQ and webhook-state key prefix (a shard's). Defaults to `KEY_PREFIX` (`{vod-ingest}`). */
  prefix?: string;
  /** Prefix of the state every shard shares (the endpoints a 410 disabled): KEY_PREFIX. Defaults to `prefix`. */
  sharedPrefix?: string;
  /** Endpoints that get every event (WEBHOOK_URLS). */
  webhookUrls: readonly string[];
  /** `whsec_…` signing secret (at least 24 bytes). Without one, no webhook is sent at all. */
  webhookSecret?: string;
  /** Hosts webhooks may reach even when private or loopback (URL_ALLOWLIST). */
  allowlist: readonly string[];
  /** Waits before each retry. Defaults to `DEFAULT_RETRY_SCHEDULE_MS` (5 s … 24 h, 10 retries). */
  retryScheduleMs?: readonly number[];
  /** Deliveries in flight at once. Defaults to 10. */
  concurrency?: number;
  registry: Registry;
  log: Logger;
  /** Per delivery, connect to last byte. Defaults to 10 s. */
  timeoutMs?: number;
  /** How long the dispatcher waits for the direct sends of one batch before the rest goes by the queue. Defaults to 2 s. */
  directDeadlineMs?: number;
  /** How often an event held behind its predecessor looks again (it is also woken). Defaults to 5 s. */
  orderPollMs?: number;
  /** How long an event waits for a predecessor never queued for its endpoint (added mid-job, trimmed). Defaults to 5 min. */
  orphanWaitMs?: number;
  /**
   * JOB_LOCK_SECONDS in ms: a dead process's stream entries and its deliveries in flight are taken
   * over after about this long, and its consumer name removed. Defaults to 30 s.
   */
  lockMs?: number;
  /** Start of this process's stream consumer name (WORKER_ID); defaults to the host name. */
  consumerBase?: string;
  /** Dispatcher tuning (consumer name, claim idle time, ...); see `WebhookDispatcherOptions`. */
  dispatcher?: Pick<
    WebhookDispatcherOptions,
    'group' | 'consumer' | 'claimIdleMs' | 'claimIntervalMs' | 'blockMs' | 'batchSize' | 'lingerMs' | 'disabledCacheMs' | 'replayWindowMs'
  >;
}

/** The running event workers. */
export interface EventWorkers {
  /** Stops dispatching, lets running deliveries finish, closes what it opened. Safe to call again. */
  close(): Promise<void>;
}

/**
 * Starts the webhook dispatcher (event stream → delivery jobs) and the delivery worker. Throws
 * at once on a malformed secret, or on webhook URLs configured without a secret.
 */
export function createEventWorkers(deps: EventWorkersDeps): EventWorkers {
  const log = deps.log.child({ component: 'webhooks' });
  if (!deps.webhookSecret) {
    if (deps.webhookUrls.length > 0) throw new AppError('WEBHOOK_SECRET_REQUIRED', 'WEBHOOK_URLS are configured but WEBHOOK_SECRET is not');
    log.warn('WebhooksDisabled'); // no secret: callbackUrls get nothing, events stay in the stream
    return { close: async () => {} };
  }
  signWebhook(deps.webhookSecret, 'msg_check', 0, ''); // a malformed secret fails here, not per delivery
  if (!deps.connection && !deps.redisUrl) throw new Error('createEventWorkers needs a connection or a redisUrl');
  const redis = deps.connection ?? createRedis(deps.redisUrl!, { name: 'vod-ingest:webhooks' });
  const prefix = deps.prefix ?? KEY_PREFIX;
  const retryScheduleMs = deps.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS;
  const queue = new Queue<WebhookJobData>(QUEUES.webhooks, { connection: redis, prefix });
  const endpoints = new WebhookEndpointStore(redis, prefix, deps.sharedPrefix ?? prefix);
  const agent = createWebhookAgent(deps.allowlist, deps.timeoutMs ?? WEBHOOK_TIMEOUT_MS);
  const metrics = webhookMetrics(deps.registry);
  const worker = createWebhookWorker({
    connection: redis,
    prefix,
    retryScheduleMs,
    concurrency: deps.concurrency,
    queue,
    endpoints,
    agent,
    secret: deps.webhookSecret,
    allowlist: deps.allowlist,
    metrics,
    log,
    timeoutMs: deps.timeoutMs,
    orderPollMs: deps.orderPollMs,
    orphanWaitMs: deps.orphanWaitMs,
    lockMs: deps.lockMs,
  });
  const dispatcher = new WebhookDispatcher({
    ...deps.dispatcher,
    lockMs: deps.lockMs,
    consumerBase: deps.consumerBase,
    redis,
    store: deps.store,
    queue,
    endpoints,
    webhookUrls: deps.webhookUrls,
    retryScheduleMs,
    log,
    // First attempts go straight from the dispatcher; retries (and what waits behind them) are jobs.
    direct: {
      agent,
      secret: deps.webhookSecret,
      allowlist: deps.allowlist,
      timeoutMs: deps.timeoutMs,
      deadlineMs: deps.directDeadlineMs,
      metrics,
      concurrency: deps.concurrency,
    },
  });
  dispatcher.start();
  let closing: Promise<void> | undefined;
  const close = async () => {
    await dispatcher.close();
    await worker.close();
    await queue.close();
    await agent.close();
    if (!deps.connection) await redis.quit();
  };
  return { close: () => (closing ??= close()) };
}
