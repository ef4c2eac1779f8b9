import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { IngestJobData } from './job.schema.js';

/**
 * Redis key prefix of everything vod-ingest stores. The braces are a Redis Cluster hash tag:
 * BullMQ's scripts and our own touch several keys at once, which Cluster allows only in one slot.
 */
export const KEY_PREFIX = '{vod-ingest}';

/** BullMQ queue names (under `KEY_PREFIX`). */
export const QUEUES = {
  /** One job per ingest job: the upload. */
  ingest: 'ingest',
  /**
   * The small lane: ingest jobs whose source is known at submission to be at most SMALL_JOB_BYTES.
   * Every worker runs a Worker of its own on it (WORKER_SMALL_CONCURRENCY), so a small job has a
   * slot even while big uploads hold every slot of the main lane. Priorities inside one queue
   * would not do that: once every slot is busy with a big upload, nothing starts, whatever its
   * priority, until one of them ends (head-of-line blocking).
   */
  ingestSmall: 'ingest-small',
  /** One job per event and webhook endpoint: a signed delivery. */
  webhooks: 'webhooks',
} as const;

/** The ingest lanes, main lane first: a job is on one of them, under its own id. */
export const INGEST_LANES = [QUEUES.ingest, QUEUES.ingestSmall] as const;
export type IngestLane = (typeof INGEST_LANES)[number];

/** SMALL_JOB_BYTES's default: sources up to 64 MiB go to the small lane. */
export const DEFAULT_SMALL_JOB_BYTES = 64 * 1024 * 1024;

/**
 * The lane of a job whose source is `sourceBytes` long: the small lane up to `smallJobBytes`, the
 * main lane when bigger or unknown (a url source, whose length the api does not learn) or when
 * `smallJobBytes` is 0 (lanes off).
 */
export function ingestLaneFor(sourceBytes: number | undefined, smallJobBytes: number): IngestLane {
  return sourceBytes !== undefined && smallJobBytes > 0 && sourceBytes <= smallJobBytes ? QUEUES.ingestSmall : QUEUES.ingest;
}

/** BullMQ `Queue`s of both ingest lanes under `prefix` (a shard's), on `connection` (left open on close). */
export function ingestLaneQueues(connection: Redis, prefix: string): Record<IngestLane, Queue<IngestJobData>> {
  const queue = (lane: IngestLane) => new Queue<IngestJobData>(lane, { connection, prefix });
  return { [QUEUES.ingest]: queue(QUEUES.ingest), [QUEUES.ingestSmall]: queue(QUEUES.ingestSmall) };
}

/** The other lane than `lane`. */
export function otherIngestLane(lane: IngestLane): IngestLane {
  return lane === QUEUES.ingest ? QUEUES.ingestSmall : QUEUES.ingest;
}

/**
 * The BullMQ lock keys of job `jobId` on both ingest lanes under `prefix` (a shard's): one exists
 * while a worker holds the job (BullMQ's `<prefix>:<queue>:<jobId>:lock`, set when a worker takes
 * the job, renewed while it runs, deleted when it ends). Same hash tag as the job's record.
 */
export function ingestLockKeys(prefix: string, jobId: string): string[] {
  return INGEST_LANES.map((lane) => `${prefix}:${lane}:${jobId}:lock`);
}

/**
 * The BullMQ options of an ingest job, the same from the api and from the worker's enqueue
 * sweeper (JOB_ATTEMPTS and JOB_BACKOFF_SECONDS). The BullMQ job id is the job's own id.
 */
export function ingestJobOptions(o: { attempts: number; backoffSeconds: number }, jobId: string): JobsOptions {
  return {
    jobId,
    attempts: o.attempts,
    backoff: { type: 'exponential', delay: o.backoffSeconds * 1000 },
    // The job record is the history; a completed BullMQ job is deleted at once (one DEL instead
    // of keeping it and trimming the completed set on every finish).
    removeOnComplete: true,
    removeOnFail: { age: 7 * 86_400 },
  };
}

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
