/**
 * Redis key prefix of everything vod-ingest stores. The braces are a Redis Cluster hash tag:
 * BullMQ's scripts and our own touch several keys at once, which Cluster allows only in one slot.
 */
export const KEY_PREFIX = '{vod-ingest}';

/** BullMQ queue names (under `KEY_PREFIX`). */
export const QUEUES = {
  /** One job per ingest job: the upload. */
  ingest: 'ingest',
  /** One job per event and webhook endpoint: a signed delivery. */
  webhooks: 'webhooks',
} as const;

/** The Redis keys of the job records and events, under one prefix (tests use their own). */
export function jobKeys(prefix = KEY_PREFIX) {
  return {
    prefix,
    job: (id: string) => `${prefix}:job:${id}`,
    tenantJobs: (tenant: string) => `${prefix}:jobs:${tenant}`,
    idempotency: (tenant: string, keyDigest: string) => `${prefix}:idem:${tenant}:${keyDigest}`,
    /** Every event of every job (consumers, webhook dispatch), trimmed by MAXLEN ~. */
    events: `${prefix}:events`,
    /** One job's events, entry ids `0-<seq>`, for SSE replay; expires after the job ends. */
    jobEvents: (id: string) => `${prefix}:events:${id}`,
  };
}
export type JobKeys = ReturnType<typeof jobKeys>;
