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
    /** A direct upload's record (`upl_…`). */
    upload: (id: string) => `${prefix}:upload:${id}`,
    /** The upload a client token opens, by the token's SHA-256; lives as long as the token. */
    clientToken: (tokenDigest: string) => `${prefix}:client-token:${tokenDigest}`,
    /** The job or upload a VOD video belongs to, for VOD's event notifications. */
    video: (videoId: string) => `${prefix}:video:${videoId}`,
    /** A VOD callback already handled (VOD retries, and may repeat itself). */
    vodEvent: (digest: string) => `${prefix}:vod-event:${digest}`,
  };
}
export type JobKeys = ReturnType<typeof jobKeys>;
