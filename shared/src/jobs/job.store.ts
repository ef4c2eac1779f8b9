import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { JobEvent, JobEventType } from './job.events.js';
import type { JobError, JobProgress, JobRequest, JobResult, JobStatus, JobView, StoredSource } from './job.schema.js';
import { toRecord } from './job.record.js';
import { CREATE, RECORD_FIELDS, TRANSITION, VIDEO } from './job.scripts.js';
import { ingestLockKeys, jobKeys, KEY_PREFIX, type JobKeys } from './queues.js';
import { shardLetter, shardOfJobId, shardPrefixes } from './shards.js';

/** What the store keeps of a job besides its view: facts for the worker, never shown. */
export interface JobRecord extends JobView {
  tenant: string;
  /** A url source's headers, sealed (`CacheCipher`), when there were any. */
  sealedHeaders?: string;
  /** For vod targets, written before the first byte so a retry never creates a second video. */
  vod?: VodPlacement;
}

export interface VodPlacement {
  videoId: string;
  endpoint: string;
  bucket: string;
  key: string;
}

export interface JobStoreOptions {
  prefix?: string;
  /**
   * REDIS_SHARDS: jobs spread over this many shards of `prefix` (`shardPrefixes`), each job in
   * the one its id names. Defaults to 1: every job under `prefix`. A worker runs one store per
   * shard (its prefix, 1 shard); the api one store over all of them.
   */
  shards?: number;
  /** Approximate length the global event stream is trimmed to. Defaults to 100,000. */
  streamMaxLen?: number;
  /**
   * Seconds a finished job (record and its event stream) is kept, and how far back the tenant's
   * index reaches. Defaults to 7 days.
   */
  retentionSeconds?: number;
  /** One create in this many also trims the tenant's index of ids older than the retention. Defaults to 64. */
  indexTrimEvery?: number;
}

export type CreateOutcome = { created: true; job: JobRecord; event: JobEvent } | { created: false; job: JobRecord; sameBody: boolean };

export type CancelOutcome = { state: 'canceled'; job: JobRecord; event: JobEvent } | { state: 'requested' | 'finished'; job: JobRecord };

const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/** How long a finished job is kept unless configured otherwise: 7 days. */
export const DEFAULT_RETENTION_SECONDS = 7 * 24 * 3600;

let lastId = { ms: -1, seq: 0 };
/** Random hex for ids, drawn 2 KiB of random bytes at a time (one `randomBytes` call per 315 ids, not one per id). */
let randomHex = '';
let randomAt = 0;
function nextRandomHex(chars: number): string {
  if (randomAt + chars > randomHex.length) {
    randomHex = randomBytes(2048).toString('hex');
    randomAt = 0;
  }
  randomAt += chars;
  return randomHex.slice(randomAt - chars, randomAt);
}

/**
 * A new job id, 31 characters: the millisecond, a per-process sequence within it, the shard's
 * letter (`shardOfJobId`), then random hex — so lexical order is creation order, also for jobs
 * created in the same millisecond, across shards.
 */
export function newJobId(now = Date.now(), shard = 0): string {
  lastId = now === lastId.ms ? { ms: now, seq: lastId.seq + 1 } : { ms: now, seq: 0 };
  const time = `${now.toString(36).padStart(10, '0')}${(lastId.seq % 46656).toString(36).padStart(3, '0')}`;
  return `job_${time}${shardLetter(shard)}${nextRandomHex(13)}`;
}

export const digest = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Job records and their events in Redis. Every status change and its event are written by one
 * Lua script, so an event exists exactly when its transition happened: a terminal event is
 * written once, however many workers or retries race to write it.
 */
export class JobStore {
  /** Shard 0's keys: also those of direct uploads and of VOD videos' owners. */
  readonly keys: JobKeys;
  /** Every shard's keys, shard 0 first. */
  readonly shardKeys: readonly JobKeys[];
  private nextShard = 0;
  private readonly maxLen: number;
  private readonly ttl: number;
  private readonly indexTrimEvery: number;

  constructor(
    private readonly redis: Redis,
    options: JobStoreOptions = {},
  ) {
    this.indexTrimEvery = options.indexTrimEvery ?? 64;
    this.shardKeys = shardPrefixes(options.prefix ?? KEY_PREFIX, options.shards ?? 1).map((p) => jobKeys(p));
    this.keys = this.shardKeys[0];
    this.maxLen = options.streamMaxLen ?? 100_000;
    this.ttl = options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS;
  }

  /** The keys of the shard a job id names. */
  keysOf(id: string): JobKeys {
    return this.shardKeys[shardOfJobId(id, this.shardKeys.length)];
  }

  /**
   * The shard of a new job: the one its idempotency key hashes to (so a replay finds it, and the
   * key and the record share a slot), else the next in turn.
   */
  private shardFor(tenant: string, idempotencyKey?: string): number {
    const n = this.shardKeys.length;
    if (n === 1) return 0;
    if (idempotencyKey) return createHash('sha256').update(`${tenant}\n${idempotencyKey}`).digest().readUInt32BE(0) % n;
    this.nextShard = (this.nextShard + 1) % n;
    return this.nextShard;
  }

  /**
   * Records a queued job and its `job.queued` event. With an idempotency key already used by the
   * tenant, records nothing and returns the earlier job and whether its body was the same.
   *
   * `alongside(id)`, for a job without an idempotency key, is called as early as a command sent on
   * this store's connection is sure to run after the record is written: when Redis has the record's
   * script cached for the connection, right after it is sent, and what it sends (synchronously
   * or in its promise continuations) goes out in the same write (`LuaScript.sendAhead`); else once
   * the record is written. The api puts the job on its lane so: one round trip for both.
   */
  async create(
    tenant: string,
    request: JobRequest,
    opts: { idempotencyKey?: string; sealedHeaders?: string; now?: Date; bodyDigest?: string; alongside?: (id: string) => void } = {},
  ): Promise<CreateOutcome> {
    if (opts.alongside && opts.idempotencyKey) throw new Error('create: `alongside` is for jobs without an idempotency key');
    const now = opts.now ?? new Date();
    const shard = this.shardFor(tenant, opts.idempotencyKey);
    const keys = this.shardKeys[shard];
    const id = newJobId(now.getTime(), shard);
    // Only an idempotency key keeps the body's digest (a replay compares it).
    const bodyDigest = opts.idempotencyKey ? (opts.bodyDigest ?? digest(JSON.stringify(request))) : '';
    const source: StoredSource =
      request.source.type === 'file'
        ? request.source
        : { type: 'url', url: request.source.url, ...(request.source.headers ? { headerNames: Object.keys(request.source.headers) } : {}) };
    const stored = { source, target: request.target, upload: request.upload, callbackUrl: request.callbackUrl, metadata: request.metadata ?? {} };
    const fields: Record<string, string> = {
      id,
      tenant,
      status: 'queued',
      request: JSON.stringify(stored),
      attempts: '0',
      createdAt: now.toISOString(),
      seq: '1',
    };
    if (opts.sealedHeaders) fields.sealedHeaders = opts.sealedHeaders;
    fields.cb = stored.callbackUrl ? '1' : '0';
    const idemKey = opts.idempotencyKey ? keys.idempotency(tenant, digest(opts.idempotencyKey)) : keys.job(id);
    // Now and then the tenant's index drops ids older than the retention (their records are gone).
    const trimBefore = Math.random() * this.indexTrimEvery < 1 ? `job_${(now.getTime() - this.ttl * 1000).toString(36).padStart(10, '0')}` : '';
    const send = () =>
      CREATE.run<[number, string]>(
        this.redis,
        [keys.job(id), keys.tenantJobs(tenant), idemKey, keys.events],
        [
          opts.idempotencyKey ? `${id}:${bodyDigest}` : '',
          IDEMPOTENCY_TTL_SECONDS,
          id,
          tenant,
          now.toISOString(),
          JSON.stringify({ status: 'queued' }),
          this.maxLen,
          fields.cb,
          trimBefore,
          ...Object.entries(fields).flat(),
        ],
      );
    const { alongside } = opts;
    const ahead = alongside
      ? CREATE.sendAhead(this.redis, () => {
          const written = send();
          alongside(id);
          return written;
        })
      : undefined;
    const reply = await (ahead ?? send());
    if (!ahead && alongside && reply[0] === 1) alongside(id);
    // The record is what was just written: no read back.
    if (reply[0] === 1) return { created: true, job: toRecord(fields), event: JSON.parse(reply[1]) as JobEvent };
    const [earlierId, earlierDigest] = reply[1].split(':');
    const job = await this.get(earlierId);
    if (!job) {
      // The earlier job expired while its key lived on: free the key and try once more.
      await this.redis.del(idemKey);
      return this.create(tenant, request, opts);
    }
    return { created: false, job, sameBody: earlierDigest === bodyDigest };
  }

  /** The job an idempotency key of the tenant already names, with the digest of its request body. */
  async findIdempotent(tenant: string, idempotencyKey: string): Promise<{ job: JobRecord; bodyDigest: string } | undefined> {
    const keys = this.shardKeys[this.shardFor(tenant, idempotencyKey)];
    const value = await this.redis.get(keys.idempotency(tenant, digest(idempotencyKey)));
    if (!value) return undefined;
    const [id, bodyDigest] = value.split(':');
    const job = await this.get(id);
    return job ? { job, bodyDigest } : undefined;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const h = fieldsOf(RECORD_FIELDS, await this.redis.hmget(this.keysOf(id).job(id), ...RECORD_FIELDS));
    return h.id ? toRecord(h) : undefined;
  }

  /** The job if it belongs to `tenant`; another tenant's job is indistinguishable from none. */
  async getForTenant(tenant: string, id: string): Promise<JobRecord | undefined> {
    if (!/^job_[0-9a-z]{1,40}$/.test(id)) return undefined;
    const job = await this.get(id);
    return job?.tenant === tenant ? job : undefined;
  }

  /**
   * The tenant's jobs, newest first; `cursor` is the last id of the previous page. With several
   * shards, each shard's page is read and the pages merged by id (ids order by creation across
   * shards): a page holds only jobs newer than every shard's resume point, so none is skipped.
   */
  async list(tenant: string, opts: { status?: JobStatus; limit: number; cursor?: string }): Promise<{ jobs: JobRecord[]; nextCursor?: string }> {
    if (this.shardKeys.length === 1) return this.listShard(this.keys, tenant, opts);
    const pages = await Promise.all(this.shardKeys.map((keys) => this.listShard(keys, tenant, opts)));
    // Resume points: a shard's page went down to its nextCursor, no further.
    const floor = pages.reduce<string | undefined>((f, p) => (p.nextCursor && (!f || p.nextCursor > f) ? p.nextCursor : f), undefined);
    const merged = pages
      .flatMap((p) => p.jobs)
      .filter((j) => !floor || j.id >= floor)
      .sort((a, b) => (a.id < b.id ? 1 : -1));
    const jobs = merged.slice(0, opts.limit);
    if (merged.length > opts.limit) return { jobs, nextCursor: jobs[jobs.length - 1].id };
    return floor ? { jobs, nextCursor: floor } : { jobs };
  }

  /** One shard's page of `list`. */
  private async listShard(
    keys: JobKeys,
    tenant: string,
    opts: { status?: JobStatus; limit: number; cursor?: string },
  ): Promise<{ jobs: JobRecord[]; nextCursor?: string }> {
    const key = keys.tenantJobs(tenant);
    const jobs: JobRecord[] = [];
    let max = opts.cursor ? `(${opts.cursor}` : '+';
    // A status filter scans at most this many ids per request, then hands back a cursor.
    let budget = opts.status ? 2000 : opts.limit + 1;
    while (jobs.length < opts.limit && budget > 0) {
      const batch = Math.min(budget, Math.max(opts.limit * 2, 50));
      const ids = await this.redis.zrange(key, max, '-', 'BYLEX', 'REV', 'LIMIT', 0, batch);
      budget -= ids.length;
      for (const id of ids) {
        max = `(${id}`;
        const job = await this.get(id);
        if (!job) {
          await this.redis.zrem(key, id);
          continue;
        }
        if (opts.status && job.status !== opts.status) continue;
        if (jobs.length === opts.limit) return { jobs, nextCursor: jobs[jobs.length - 1].id };
        jobs.push(job);
      }
      if (ids.length < batch) return { jobs };
    }
    return { jobs, nextCursor: jobs.length ? jobs[jobs.length - 1].id : max.slice(1) };
  }

  /**
   * queued (or running, after a crash) → running, with `job.started`. Null when the job is
   * neither (canceled, finished, or no record).
   */
  start(id: string, attempt: number, now = new Date()): Promise<JobEvent | null> {
    const fields = { attempts: String(attempt), startedAt: now.toISOString() };
    return this.transition(id, ['queued', 'running'], 'running', 'job.started', { attempt }, fields, now);
  }

  /** Saves progress; with `emit`, also a `job.progress` event (callers throttle). */
  progress(id: string, progress: JobProgress, emit: boolean): Promise<JobEvent | null> {
    return this.transition(id, ['running'], '', emit ? 'job.progress' : '', progress, { progress: JSON.stringify(progress) });
  }

  /** Writes the VOD video's placement, before the first byte goes out, and which job the video is (for VOD's callbacks). */
  async placeVod(id: string, vod: VodPlacement): Promise<void> {
    const keys = this.keysOf(id);
    await this.redis.multi().hset(keys.job(id), 'vod', JSON.stringify(vod)).set(keys.video(vod.videoId), id, 'EX', this.ttl).exec();
  }

  /**
   * The job or direct upload (`upl_…`) a VOD video belongs to, if any: a job's video is noted in
   * the job's shard, an upload's in shard 0.
   */
  async videoSubject(videoId: string): Promise<string | undefined> {
    for (const keys of this.shardKeys) {
      const subject = await this.redis.get(keys.video(videoId));
      if (subject) return subject;
    }
    return undefined;
  }

  /**
   * A succeeded vod job's video finished processing (VOD's TranscodeComplete): `video.ready` or
   * `video.failed`, once. `not-yet` while the job has not succeeded (the callback comes early).
   */
  async videoProcessed(
    id: string,
    video: { status: 'ready' | 'failed' } & Record<string, unknown>,
    now = new Date(),
  ): Promise<'written' | 'duplicate' | 'not-yet'> {
    const type = video.status === 'ready' ? 'video.ready' : 'video.failed';
    const reply = await VIDEO.run<[number, string]>(
      this.redis,
      [this.keysOf(id).job(id), this.keysOf(id).events],
      ['succeeded', now.toISOString(), JSON.stringify(video), this.maxLen, JSON.stringify(video), type, id],
    );
    return reply[0] === 1 ? 'written' : reply[0] === 2 ? 'duplicate' : 'not-yet';
  }

  /** VOD has the job's video (FileUploadComplete): `processing` until it is ready or failed. */
  async videoUploaded(id: string): Promise<void> {
    await this.redis.hsetnx(this.keysOf(id).job(id), 'video', JSON.stringify({ status: 'processing' }));
  }

  /** The callbackUrl of a job or upload (`upl_…`), for webhook delivery; undefined once it expired. */
  async callbackUrlOf(id: string): Promise<string | undefined> {
    const raw = await this.redis.hget(id.startsWith('upl_') ? this.keys.upload(id) : this.keysOf(id).job(id), 'request');
    return raw ? ((JSON.parse(raw) as { callbackUrl?: string }).callbackUrl ?? undefined) : undefined;
  }

  /**
   * running → succeeded. With `begun` (an attempt that has not written its start: see the
   * worker's deferred start), a job still `queued` gets its `job.started`, then `job.succeeded`,
   * in the same step.
   */
  succeed(id: string, result: JobResult, progress: JobProgress, now = new Date(), begun?: { attempt: number; at: Date }): Promise<JobEvent | null> {
    const fields: Record<string, string> = { result: JSON.stringify(result), progress: JSON.stringify(progress) };
    if (!begun) return this.finish(id, ['running'], 'succeeded', 'job.succeeded', { result }, fields, now);
    fields.attempts = String(begun.attempt);
    fields.startedAt = begun.at.toISOString();
    const first = { type: 'job.started' as const, data: { attempt: begun.attempt, status: 'running' }, at: begun.at };
    return this.finish(id, ['queued', 'running'], 'succeeded', 'job.succeeded', { result }, fields, now, { first });
  }

  /**
   * Sends `write` (one of this store's transitions, such as `succeed`) ahead of whatever follows on
   * this store's connection until the event loop's next turn, in one write (`LuaScript.sendAhead`):
   * the worker's end of a job and BullMQ's completion of it, one round trip. Undefined, with
   * nothing sent, when the connection has not run the transition script yet: the caller writes and
   * awaits as usual.
   */
  writeAhead<T>(write: () => Promise<T>): Promise<T> | undefined {
    return TRANSITION.sendAhead(this.redis, write);
  }

  fail(id: string, error: JobError, now = new Date()): Promise<JobEvent | null> {
    return this.finish(id, ['queued', 'running'], 'failed', 'job.failed', { error }, { error: JSON.stringify(error) }, now);
  }

  /** running → queued after a retryable failure: the queue tries again later. */
  async requeue(id: string, error: JobError): Promise<void> {
    await this.transition(id, ['running'], 'queued', '', {}, { error: JSON.stringify(error) });
  }

  /** Ends a running job whose cancel was asked for, once its upload is aborted. */
  canceled(id: string, now = new Date()): Promise<JobEvent | null> {
    return this.finish(id, ['queued', 'running'], 'canceled', 'job.canceled', {}, {}, now);
  }

  /**
   * DELETE: a queued job nobody has taken is canceled at once; a running one, or a queued one a
   * worker holds (its BullMQ lock exists: the worker writes its start late, see `succeed`), is
   * flagged for its worker, which stops, aborts the upload and ends it `canceled`; a finished one
   * is left alone.
   */
  async cancel(id: string, now = new Date()): Promise<CancelOutcome> {
    const guards = ingestLockKeys(this.keysOf(id).prefix, id);
    const event = await this.finish(id, ['queued'], 'canceled', 'job.canceled', {}, {}, now, { guards });
    if (event) return { state: 'canceled', job: (await this.get(id))!, event };
    const flagged = await this.apply(id, ['queued', 'running'], '', '', {}, { cancel: '1' });
    return { state: flagged.applied ? 'requested' : 'finished', job: (await this.get(id))! };
  }

  async isCancelRequested(id: string): Promise<boolean> {
    return (await this.redis.hget(this.keysOf(id).job(id), 'cancel')) === '1';
  }

  /** One job's events after `afterSeq` (0 for all), oldest first. */
  events(id: string, afterSeq = 0, count = 1000): Promise<JobEvent[]> {
    return recordEvents(this.redis, this.keysOf(id).job(id), afterSeq, count);
  }

  private finish(
    id: string,
    from: JobStatus[],
    to: JobStatus,
    type: JobEventType,
    data: object,
    fields: Record<string, string>,
    now: Date,
    extra?: TransitionExtra,
  ) {
    return this.transition(id, from, to, type, data, { ...fields, finishedAt: now.toISOString() }, now, true, extra);
  }

  private async transition(...args: Parameters<JobStore['apply']>): Promise<JobEvent | null> {
    return (await this.apply(...args)).event;
  }

  /** Runs the transition script on the job: `applied` when it was in one of `from`. */
  private apply(
    id: string,
    from: JobStatus[],
    to: JobStatus | '',
    type: JobEventType | '',
    data: object,
    fields: Record<string, string>,
    now = new Date(),
    final = false,
    extra: TransitionExtra = {},
  ): Promise<TransitionOutcome> {
    const shard = this.keysOf(id);
    const keys = { record: shard.job(id), events: shard.events };
    return runTransition(this.redis, keys, id, { from, to, type, data, fields, now, final, ...extra, maxLen: this.maxLen, ttl: this.ttl });
  }
}

/** The named fields of an HMGET answer that exist. */
function fieldsOf(names: readonly string[], values: readonly (string | null)[]): Record<string, string> {
  const h: Record<string, string> = {};
  names.forEach((name, i) => {
    const v = values[i];
    if (v !== null && v !== undefined) h[name] = v;
  });
  return h;
}

/** A record's events after `afterSeq` (0 for all), oldest first: its fields `e:<seq>`. */
export async function recordEvents(redis: Redis, recordKey: string, afterSeq: number, count: number): Promise<JobEvent[]> {
  const seq = Number((await redis.hget(recordKey, 'seq')) ?? 0);
  const last = Math.min(seq, afterSeq + count);
  if (last <= afterSeq) return [];
  const names = Array.from({ length: last - afterSeq }, (_, i) => `e:${afterSeq + 1 + i}`);
  const values = await redis.hmget(recordKey, ...names);
  return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as JobEvent);
}

/** What some transitions add: an event written first, guard keys. */
type TransitionExtra = Pick<Transition, 'first' | 'guards'>;

/** One status change of a record (a job or an upload) and its event, as `TRANSITION` runs it. */
export interface Transition {
  from: readonly string[];
  /** New status, or '' to keep it. */
  to: string;
  /** Event to emit, or '' for none. */
  type: JobEventType | '';
  data: object;
  fields: Record<string, string>;
  now: Date;
  /** Ends the record: it (with its events) expires `ttl` seconds from now. */
  final: boolean;
  /** An event written just before `type` when the record is still `queued` (a start written with the end). */
  first?: { type: JobEventType; data: object; at: Date };
  /** Keys whose existence means the record is taken: the change does not apply. */
  guards?: readonly string[];
  maxLen: number;
  ttl: number;
}

export interface TransitionOutcome {
  applied: boolean;
  event: JobEvent | null;
  /** The status found when not applied ('' when there is no record). */
  status: string;
}

/** Runs `TRANSITION` on `keys.record`: `applied` when it was in one of `t.from`, with the event written. */
export async function runTransition(redis: Redis, keys: { record: string; events: string }, id: string, t: Transition): Promise<TransitionOutcome> {
  // Built by push, not spreads and flat(): this runs for every status change.
  const args: (string | number)[] = [
    id,
    t.from.join(','),
    t.to,
    t.type,
    t.now.toISOString(),
    JSON.stringify({ ...t.data, ...(t.to ? { status: t.to } : {}) }),
    t.maxLen,
    t.ttl,
    t.final ? '1' : '',
  ];
  if (t.first) args.push(t.first.type, t.first.at.toISOString(), JSON.stringify(t.first.data));
  else args.push('', '', '');
  for (const name in t.fields) args.push(name, t.fields[name]);
  const scriptKeys = t.guards?.length ? [keys.record, keys.events, ...t.guards] : [keys.record, keys.events];
  const reply = await TRANSITION.run<[number, string]>(redis, scriptKeys, args);
  const applied = reply[0] === 1;
  return {
    applied,
    event: applied && reply[1] ? (JSON.parse(reply[1]) as JobEvent) : null,
    status: applied ? '' : reply[1],
  };
}
