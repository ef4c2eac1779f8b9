import { createHash } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { eventSeq, eventSubject, type JobEvent } from '@vod-ingest/shared';

/** What one webhook delivery job carries: the envelope and where it goes, never the secret. */
export interface WebhookJobData {
  event: JobEvent;
  url: string;
  /** Attempts the dispatcher already made itself (its direct delivery); they count toward the schedule. */
  tried?: number;
}

/** BullMQ job name of a delivery. */
export const WEBHOOK_JOB_NAME = 'webhook';

/** Backoff type name the delivery worker resolves with its retry schedule. */
export const WEBHOOK_BACKOFF_TYPE = 'webhook-schedule';

/** A short, stable name of an endpoint for Redis keys and job ids (URLs can be long and hold secrets). */
export function endpointHash(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/**
 * The delivery job id of (event, endpoint): deterministic, so a dispatch repeated after a crash
 * adds nothing. BullMQ refuses ids with ':' (and integers), hence the '-'.
 */
export function deliveryJobId(eventId: string, url: string): string {
  return `${eventId}-${endpointHash(url)}`;
}

/** The id of a job's event at `seq` (the envelope's `evt_<jobId>_<seq>`). */
export function eventIdAt(jobId: string, seq: number): string {
  return `evt_${jobId}_${seq}`;
}

/** Checks a delivery job's data; malformed data can never succeed, so it is unrecoverable. */
export function parseWebhookJobData(data: unknown): WebhookJobData & { seq: number } {
  const d = data as Partial<WebhookJobData> | null;
  const event = d?.event;
  if (!d || typeof d.url !== 'string' || !event || typeof event.id !== 'string' || typeof eventSubject(event) !== 'string') {
    throw new UnrecoverableError('webhook job data must hold an event and a url');
  }
  const seq = eventSeq(event);
  if (!Number.isInteger(seq) || seq < 1 || event.id !== eventIdAt(eventSubject(event), seq)) {
    throw new UnrecoverableError(`webhook event id ${event.id} is not evt_<jobId>_<seq>`);
  }
  return { event, url: d.url, seq };
}

/** How long a finished delivery job is kept (seconds): meanwhile its deterministic id dedupes re-dispatches. */
const KEEP_COMPLETED_SECONDS = 24 * 3600;
const KEEP_FAILED_SECONDS = 7 * 24 * 3600;

/** BullMQ priority of a delivery that goes last (BullMQ takes every job without a priority first). */
export const LAST_PRIORITY = 1;

/**
 * The BullMQ options of a delivery: one attempt plus one per step of the retry schedule, less the
 * `tried` attempts the dispatcher made directly (then the first one waits the schedule's next step,
 * or `delayMs`). A delivery marked `last` is taken only when no other waits.
 */
export function deliveryJobOptions(
  eventId: string,
  url: string,
  retryScheduleMs: readonly number[],
  o: { tried?: number; last?: boolean; delayMs?: number } = {},
) {
  const tried = o.tried ?? 0;
  const delay = o.delayMs ?? (tried > 0 ? (retryScheduleMs[tried - 1] ?? 0) : undefined);
  return {
    jobId: deliveryJobId(eventId, url),
    attempts: retryScheduleMs.length + 1 - tried,
    ...(delay !== undefined ? { delay } : {}),
    ...(o.last ? { priority: LAST_PRIORITY } : {}),
    backoff: { type: WEBHOOK_BACKOFF_TYPE },
    removeOnComplete: { age: KEEP_COMPLETED_SECONDS, count: 10_000 },
    removeOnFail: { age: KEEP_FAILED_SECONDS },
  };
}

/**
 * Default retry schedule, the wait before each retry: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h,
 * 3 h, 6 h, 12 h, 24 h (about two days in all, as Standard Webhooks senders commonly do).
 */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600].map((s) => s * 1000);

/** A BullMQ backoff strategy walking `schedule`; `attemptsMade` counts the failure just had. */
export function scheduleBackoff(schedule: readonly number[]) {
  return (attemptsMade: number): number => schedule[Math.min(Math.max(attemptsMade, 1), schedule.length) - 1] ?? 0;
}
