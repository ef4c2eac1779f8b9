import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { Agent } from 'undici';
import type { AppError } from '@vod-ingest/shared';
import { eventSubject, safeUrl, type JobEvent, type Logger } from '@vod-ingest/shared';
import type { WebhookEndpointStore } from './webhook-endpoint.store.js';
import { deliveryJobId, eventIdAt, parseWebhookJobData, type WebhookJobData } from './webhook.job.js';
import type { WebhookMetrics } from './webhook.metrics.js';
import { attemptWebhook } from './webhook.sender.js';

export interface WebhookProcessorDeps {
  endpoints: WebhookEndpointStore;
  /** The webhooks queue: to look at an event's predecessor and wake its successor. */
  queue: Queue<WebhookJobData>;
  agent: Agent;
  secret: string;
  /** Hosts that may be private or loopback (URL_ALLOWLIST). */
  allowlist: readonly string[];
  metrics: WebhookMetrics;
  log: Logger;
  /** How long an event waiting for its predecessor sleeps before looking again (it is also woken). Defaults to 5 s. */
  orderPollMs?: number;
  /** How long an event waits for a predecessor that was never queued for its endpoint. Defaults to 5 min. */
  orphanWaitMs?: number;
  /** Per delivery. Defaults to 10 s. */
  timeoutMs?: number;
}

/** What a delivery job ended with: `skipped` when it was delivered before or its endpoint is disabled. */
export type WebhookResult = 'delivered' | 'disabled' | 'skipped';

/** One event bound for one endpoint, at its seq. */
export interface Delivery {
  event: JobEvent;
  url: string;
  seq: number;
}

/**
 * The webhooks queue's processor: sends one event to one endpoint, after every earlier event of
 * the same job is done there. Failures throw so BullMQ retries on the schedule; the last one
 * still lets the job's later events go.
 */
export function createWebhookProcessor(deps: WebhookProcessorDeps) {
  return async (job: Job<WebhookJobData>, token?: string): Promise<WebhookResult> => {
    const d = parseWebhookJobData(job.data);
    if (await deps.endpoints.isDisabled(d.url)) {
      await markDone(deps, d);
      return 'skipped';
    }
    const order = await orderOf(deps, job, d);
    if (order === 'done') return 'skipped';
    if (order === 'wait') return waitForPredecessor(deps, job, d, token);
    const log = deps.log.child({ jobId: eventSubject(d.event), eventId: d.event.id, attempt: job.attemptsMade + 1, endpoint: safeUrl(d.url) });
    return deliver(deps, job, d, log);
  };
}

/** Whether this event may go now, was done with before (a retry after a restart), or must wait. */
async function orderOf(deps: WebhookProcessorDeps, job: Job, d: Delivery): Promise<'send' | 'done' | 'wait'> {
  const gate = await deps.endpoints.gate(d.url, eventSubject(d.event));
  if (gate >= d.seq) return 'done';
  if (gate === d.seq - 1) return 'send';
  const prev = await deps.queue.getJobState(deliveryJobId(eventIdAt(eventSubject(d.event), d.seq - 1), d.url));
  // Ended without moving the gate (failed by stalling too often): nothing more comes from it.
  if (prev === 'completed' || prev === 'failed') return 'send';
  // Never queued for this endpoint (added to WEBHOOK_URLS mid-job, or trimmed from the stream
  // before dispatch): wait a while for a late dispatch, not forever.
  if (prev === 'unknown' && Date.now() - job.timestamp > (deps.orphanWaitMs ?? 5 * 60_000)) return 'send';
  return 'wait';
}

/** Parks the job without using an attempt; the predecessor wakes it when done, the poll is a safety net. */
async function waitForPredecessor(deps: WebhookProcessorDeps, job: Job, d: Delivery, token?: string): Promise<never> {
  await job.moveToDelayed(Date.now() + (deps.orderPollMs ?? 5000), token);
  // The predecessor may have finished, and failed to wake us, between our look and the move.
  if ((await deps.endpoints.gate(d.url, eventSubject(d.event))) >= d.seq - 1) await job.promote().catch(() => {});
  throw new DelayedError();
}

async function deliver(deps: WebhookProcessorDeps, job: Job, d: Delivery, log: Logger): Promise<WebhookResult> {
  const stopTimer = deps.metrics.duration.startTimer();
  const attempt = await attemptWebhook(d.url, d.event, deps);
  stopTimer();
  if (attempt.outcome === 'error') return giveUpOrRetry(deps, job, d, log, attempt.error);
  if (attempt.outcome === 'delivered') {
    await markDone(deps, d);
    deps.metrics.deliveries.inc({ outcome: 'delivered' });
    log.info({ status: attempt.status }, 'WebhookDelivered');
    return 'delivered';
  }
  await deps.endpoints.disable(d.url);
  await markDone(deps, d);
  deps.metrics.deliveries.inc({ outcome: 'disabled' });
  log.warn({ status: attempt.status }, 'WebhookEndpointDisabled');
  return 'disabled';
}

/** Throws: a retryable error with attempts left goes back to BullMQ; anything else is final. */
async function giveUpOrRetry(deps: WebhookProcessorDeps, job: Job, d: Delivery, log: Logger, err: AppError): Promise<never> {
  const attempts = job.opts.attempts ?? 1;
  if (err.retryable && job.attemptsMade + 1 < attempts) {
    deps.metrics.deliveries.inc({ outcome: 'retried' });
    log.warn({ code: err.code, reason: err.message }, 'WebhookDeliveryRetried');
    throw err;
  }
  // Given up: the job's later events must not wait for this one forever.
  await markDone(deps, d);
  deps.metrics.deliveries.inc({ outcome: 'failed' });
  log.error({ code: err.code, reason: err.message, attempts: job.attemptsMade + 1 + ((job.data as WebhookJobData).tried ?? 0) }, 'WebhookDeliveryFailed');
  throw new UnrecoverableError(`${err.code}: ${err.message}`);
}

/** Moves the (endpoint, job) gate past this event and wakes the next event if it sleeps. */
export async function markDone(deps: Pick<WebhookProcessorDeps, 'endpoints' | 'queue'>, d: Delivery): Promise<void> {
  await deps.endpoints.advance(d.url, eventSubject(d.event), d.seq);
  const next = await deps.queue.getJob(deliveryJobId(eventIdAt(eventSubject(d.event), d.seq + 1), d.url));
  // It may be waking up by itself at the same moment; then promote finds it no longer delayed.
  if (next && (await next.isDelayed())) await next.promote().catch(() => {});
}
