import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  ingestJobOptions,
  ingestLaneFor,
  INGEST_LANES,
  jobKeys,
  ingestLaneQueues,
  type IngestJobData,
  type IngestLane,
  type Logger,
  type StoredSource,
} from '@vod-ingest/shared';
import { holdLease, releaseLease } from '../redis-lease.js';

export interface EnqueueSweeperOptions {
  /** A connection for commands (BullMQ's `Queue` is created on it; it is left open). */
  redis: Redis;
  prefix: string;
  attempts: number;
  backoffSeconds: number;
  /** The api's SMALL_JOB_BYTES: a file source up to this size (stat now) goes to the small lane; 0 or unset: the main lane. */
  smallJobBytes?: number;
  /** How often to look. */
  intervalMs: number;
  /** A job is looked at once it is this old: the api enqueues right after recording. Defaults to 30 s. */
  minAgeMs?: number;
  /** How far back in the event stream a sweeper that has just taken over starts reading. Defaults to 10 min. */
  lookBackMs?: number;
  log: Logger;
}

/** Most jobs followed at once; past it, the oldest are dropped (they were looked at or are being run). */
const MAX_FOLLOWED = 200_000;

type StreamEntry = [id: string, fields: string[]];

/**
 * Repairs a crash of the api between recording a job and putting it on the ingest queue: a job
 * recorded `queued` at least `minAgeMs` ago that has no BullMQ job is enqueued, with the options
 * the api uses (the BullMQ job id is the job id, so a race with the api adds it once).
 *
 * It finds candidates cheaply by following the global event stream, not by scanning records: a
 * `job.queued` entry starts following a job, any later event of it (started, failed, canceled)
 * ends that. Jobs still followed once `minAgeMs` old are looked at once each: their BullMQ job
 * exists (waiting in a backlog), or the record is no longer queued, or they are enqueued now. So
 * per job it costs one pipelined EXISTS only for jobs that wait 30 s or more, plus the stream
 * read in pages. One worker sweeps at a time (a lock that its holder renews, so it keeps
 * following); a worker that takes over reads the last `lookBackMs` of the stream first.
 */
export class EnqueueSweeper {
  private readonly keys: ReturnType<typeof jobKeys>;
  private readonly queues: Record<IngestLane, Queue<IngestJobData>>;
  private readonly lockKey: string;
  private readonly token = randomBytes(12).toString('hex');
  private readonly followed = new Map<string, number>();
  private lastId?: string;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private closed = false;

  constructor(private readonly opts: EnqueueSweeperOptions) {
    this.keys = jobKeys(opts.prefix);
    this.queues = ingestLaneQueues(opts.redis, opts.prefix);
    this.lockKey = `${opts.prefix}:enqueue-sweeper`;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs);
    this.timer.unref();
    void this.tick();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
    await releaseLease(this.opts.redis, this.lockKey, this.token).catch(() => {});
    await Promise.all(INGEST_LANES.map((lane) => this.queues[lane].close()));
  }

  private tick(): Promise<void> {
    if (!this.running && !this.closed) {
      this.running = this.sweep()
        .then((n) => void (n > 0 && this.opts.log.warn({ count: n }, 'JobsEnqueuedBySweeper')))
        .catch((err) => this.opts.log.warn({ err }, 'EnqueueSweepFailed'))
        .finally(() => (this.running = undefined));
    }
    return this.running ?? Promise.resolve();
  }

  /** One look; returns how many jobs it enqueued. Does nothing while another worker holds the lock. */
  async sweep(now = Date.now()): Promise<number> {
    const ttl = Math.max(this.opts.intervalMs * 3, 5000);
    if (!(await holdLease(this.opts.redis, this.lockKey, this.token, ttl))) {
      // Another worker sweeps: start afresh if this one takes over later.
      this.followed.clear();
      this.lastId = undefined;
      return 0;
    }
    await this.follow(now);
    const due = now - (this.opts.minAgeMs ?? 30_000);
    const candidates = [...this.followed].filter(([, at]) => at <= due).map(([id]) => id);
    if (candidates.length === 0) return 0;
    let enqueued = 0;
    for (let i = 0; i < candidates.length; i += 500) {
      const page = candidates.slice(i, i + 500);
      const pipe = this.opts.redis.pipeline();
      // On either lane (EXISTS of both keys in one call would cross slots once lanes are sharded).
      for (const id of page) for (const lane of INGEST_LANES) pipe.exists(`${this.opts.prefix}:${lane}:${id}`);
      const onQueue = (await pipe.exec()) ?? [];
      const n = INGEST_LANES.length;
      const missing = page.filter((_, j) => INGEST_LANES.every((_, k) => onQueue[j * n + k]?.[1] === 0));
      for (const id of page) this.followed.delete(id);
      for (const id of missing) if (await this.enqueueIfQueued(id)) enqueued++;
    }
    return enqueued;
  }

  /** Reads the stream from where we stopped (or `lookBackMs` back) to its end. */
  private async follow(now: number): Promise<void> {
    let from = this.lastId ? `(${this.lastId}` : `${Math.max(0, now - (this.opts.lookBackMs ?? 10 * 60_000))}-0`;
    for (;;) {
      const entries = (await this.opts.redis.xrange(this.keys.events, from, '+', 'COUNT', 1000)) as StreamEntry[];
      for (const [entryId, fields] of entries) this.see(entryId, fields);
      if (entries.length > 0) {
        this.lastId = entries[entries.length - 1][0];
        from = `(${this.lastId}`;
      }
      if (entries.length < 1000) return;
    }
  }

  private see(entryId: string, fields: string[]): void {
    let jobId: string | undefined;
    let type: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'jobId') jobId = fields[i + 1];
      else if (fields[i] === 'type') type = fields[i + 1];
    }
    if (!jobId?.startsWith('job_')) return;
    if (type !== 'job.queued') {
      this.followed.delete(jobId);
      return;
    }
    this.followed.set(jobId, Number(entryId.slice(0, entryId.indexOf('-'))));
    if (this.followed.size > MAX_FOLLOWED) this.followed.delete(this.followed.keys().next().value!);
  }

  /** Enqueues the job if its record is still queued (not canceled, failed or expired meanwhile). */
  private async enqueueIfQueued(jobId: string): Promise<boolean> {
    const [status, tenant, request] = await this.opts.redis.hmget(this.keys.job(jobId), 'status', 'tenant', 'request');
    if (status !== 'queued' || !tenant) return false;
    const lane = ingestLaneFor(await this.sourceBytes(request), this.opts.smallJobBytes ?? 0);
    await this.queues[lane].add(lane, { jobId, tenant } satisfies IngestJobData, ingestJobOptions(this.opts, jobId));
    this.opts.log.warn({ jobId, tenant, lane }, 'JobEnqueuedBySweeper');
    return true;
  }

  /** A file source's size now, as the api's lane choice saw it at submission; unknown for a url source or an unreadable record. */
  private async sourceBytes(request: string | null): Promise<number | undefined> {
    if (!request || !this.opts.smallJobBytes) return undefined;
    try {
      const source = (JSON.parse(request) as { source?: StoredSource }).source;
      return source?.type === 'file' ? (await stat(source.path)).size : undefined;
    } catch {
      return undefined;
    }
  }
}
