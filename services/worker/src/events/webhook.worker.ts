import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES } from '@vod-ingest/shared';
import { scheduleBackoff, WEBHOOK_BACKOFF_TYPE, type WebhookJobData } from './webhook.job.js';
import { createWebhookProcessor, type WebhookProcessorDeps, type WebhookResult } from './webhook.processor.js';

export interface WebhookWorkerOptions extends WebhookProcessorDeps {
  connection: Redis;
  /** BullMQ key prefix (a Redis Cluster hash tag). */
  prefix: string;
  /** The waits before each retry; the dispatcher gives jobs as many retries as it has steps. */
  retryScheduleMs: readonly number[];
  /** Deliveries in flight at once. Defaults to 10. */
  concurrency?: number;
}

/** The BullMQ worker of the webhooks queue, retrying on the configured schedule. */
export function createWebhookWorker(opts: WebhookWorkerOptions): Worker<WebhookJobData, WebhookResult> {
  const backoff = scheduleBackoff(opts.retryScheduleMs);
  const worker = new Worker<WebhookJobData, WebhookResult>(QUEUES.webhooks, createWebhookProcessor(opts), {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: opts.concurrency ?? 10,
    settings: {
      backoffStrategy: (attemptsMade, type) => {
        if (type !== WEBHOOK_BACKOFF_TYPE) throw new Error(`unknown backoff type ${type}`);
        return backoff(attemptsMade);
      },
    },
  });
  worker.on('error', (err) => opts.log.error({ err }, 'WebhookWorkerError'));
  return worker;
}
