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
  /** A delivery's lock (JOB_LOCK_SECONDS): a dead process's deliveries are taken over soon after it lapses. Defaults to 30 s. */
  lockMs?: number;
}

/** The BullMQ worker of the webhooks queue, retrying on the configured schedule. */
export function createWebhookWorker(opts: WebhookWorkerOptions): Worker<WebhookJobData, WebhookResult> {
  const backoff = scheduleBackoff(opts.retryScheduleMs);
  const lockMs = opts.lockMs ?? 30_000;
  const worker = new Worker<WebhookJobData, WebhookResult>(QUEUES.webhooks, createWebhookProcessor(opts), {
    connection: opts.connection,
    prefix: opts.prefix,
    concurrency: opts.concurrency ?? 10,
    // Checked every few seconds, not every lock time: a killed process's deliveries go on within
    // the lock plus two checks (a check marks, the next one moves what is still unlocked).
    lockDuration: lockMs,
    stalledInterval: Math.min(3000, Math.max(500, Math.floor(lockMs / 2))),
    settings: {
      backoffStrategy: (attemptsMade, type, _err, job) => {
        if (type !== WEBHOOK_BACKOFF_TYPE) throw new Error(`unknown backoff type ${type}`);
        // Attempts the dispatcher made directly come first in the schedule.
        return backoff(attemptsMade + ((job?.data as WebhookJobData | undefined)?.tried ?? 0));
      },
    },
  });
  worker.on('error', (err) => opts.log.error({ err }, 'WebhookWorkerError'));
  return worker;
}
