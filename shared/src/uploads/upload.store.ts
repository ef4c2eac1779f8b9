import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { JobEvent, JobEventType } from '../jobs/job.events.js';
import type { JobError } from '../jobs/job.schema.js';
import { recordEvents, runTransition } from '../jobs/job.store.js';
import { jobKeys, KEY_PREFIX, type JobKeys } from '../jobs/queues.js';
import { toUploadRecord, type UploadRecord, type UploadRequest, type UploadStatus } from './upload.record.js';

const tokenDigest = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/** A client token: `ct_` and 32 random bytes; only its SHA-256 is stored. */
const CLIENT_TOKEN = /^ct_[A-Za-z0-9_-]{43}$/;
const UPLOAD_ID = /^upl_[0-9a-z]{20,40}$/;

export interface UploadStoreOptions {
  prefix?: string;
  /** Approximate length of the global event stream. Defaults to 100,000. */
  streamMaxLen?: number;
  /** Seconds a finished upload is kept. Defaults to 7 days. */
  retentionSeconds?: number;
}

/**
 * Direct uploads in Redis: a record per upload (the same hash shape as a job's, so the job
 * scripts write its status changes and events onto the same streams), the client token that
 * opens it, and the VOD video it became.
 */
export class UploadStore {
  readonly keys: JobKeys;
  private readonly maxLen: number;
  private readonly ttl: number;

  constructor(
    private readonly redis: Redis,
    options: UploadStoreOptions = {},
  ) {
    this.keys = jobKeys(options.prefix ?? KEY_PREFIX);
    this.maxLen = options.streamMaxLen ?? 100_000;
    this.ttl = options.retentionSeconds ?? 7 * 24 * 3600;
  }

  /** Records a new upload and returns it with its client token (shown once, never stored). */
  async create(tenant: string, request: UploadRequest, expiresInSeconds: number, now = new Date()): Promise<{ upload: UploadRecord; clientToken: string }> {
    const id = `upl_${now.getTime().toString(36).padStart(10, '0')}${randomBytes(10).toString('hex')}`;
    const clientToken = `ct_${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(now.getTime() + expiresInSeconds * 1000).toISOString();
    const fields: Record<string, string> = {
      id,
      tenant,
      status: 'created',
      request: JSON.stringify(request),
      createdAt: now.toISOString(),
      expiresAt,
      seq: '0',
    };
    // Tells the webhook dispatcher this record's events go to a callback too (see job.scripts.ts).
    fields.cb = request.callbackUrl ? '1' : '0';
    await this.redis
      .multi()
      .hset(this.keys.upload(id), fields)
      .expire(this.keys.upload(id), expiresInSeconds + this.ttl)
      .set(this.keys.clientToken(tokenDigest(clientToken)), id, 'EX', expiresInSeconds)
      .exec();
    return { upload: toUploadRecord(fields, now.getTime()), clientToken };
  }

  async get(id: string): Promise<UploadRecord | undefined> {
    if (!UPLOAD_ID.test(id)) return undefined;
    const h = await this.redis.hgetall(this.keys.upload(id));
    return h.id ? toUploadRecord(h) : undefined;
  }

  /** The upload if it belongs to `tenant`; another tenant's is indistinguishable from none. */
  async getForTenant(tenant: string, id: string): Promise<UploadRecord | undefined> {
    const u = await this.get(id);
    return u?.tenant === tenant ? u : undefined;
  }

  /** The upload a client token opens, while the token lives and the upload is not expired. */
  async byClientToken(token: string): Promise<UploadRecord | undefined> {
    if (!CLIENT_TOKEN.test(token)) return undefined;
    const id = await this.redis.get(this.keys.clientToken(tokenDigest(token)));
    const u = id ? await this.get(id) : undefined;
    return u && Date.parse(u.expiresAt) > Date.now() ? u : undefined;
  }

  /** Ties a VOD video to the upload (once) and marks it uploading. False when it already has another video. */
  async bindVideo(id: string, videoId: string): Promise<boolean> {
    const key = this.keys.upload(id);
    const set = await this.redis.hsetnx(key, 'videoId', videoId);
    if (!set && (await this.redis.hget(key, 'videoId')) !== videoId) return false;
    await this.redis.set(this.keys.video(videoId), id, 'EX', this.ttl);
    await this.uploading(id);
    return true;
  }

  /** created → uploading (the client asked for credentials); no event. */
  async uploading(id: string): Promise<void> {
    await this.apply(id, ['created'], 'uploading', '', {}, {});
  }

  /** The object is complete: `upload.completed`. An oss upload ends here; a vod one waits for VOD. */
  completed(id: string, result: NonNullable<UploadRecord['result']>, final: boolean): Promise<JobEvent | null> {
    const fields = { result: JSON.stringify(result), ...(final ? { finishedAt: new Date().toISOString() } : {}) };
    return this.transition(id, ['created', 'uploading'], 'uploaded', 'upload.completed', { result }, fields, final);
  }

  /** The upload did not produce an acceptable object: `upload.failed`. */
  failed(id: string, error: JobError): Promise<JobEvent | null> {
    return this.transition(
      id,
      ['created', 'uploading', 'uploaded'],
      'failed',
      'upload.failed',
      { error },
      { error: JSON.stringify(error), finishedAt: new Date().toISOString() },
      true,
    );
  }

  /** VOD finished processing the upload's video: `video.ready` or `video.failed`, once. */
  videoProcessed(id: string, video: { status: 'ready' | 'failed' } & Record<string, unknown>): Promise<JobEvent | null> {
    const ready = video.status === 'ready';
    const fields: Record<string, string> = { video: JSON.stringify(video), finishedAt: new Date().toISOString() };
    if (!ready)
      fields.error = JSON.stringify({ code: 'VIDEO_PROCESSING_FAILED', message: String(video.message ?? 'VOD could not process the video'), retryable: false });
    return this.transition(id, ['uploaded'], ready ? 'ready' : 'failed', ready ? 'video.ready' : 'video.failed', { video }, fields, true);
  }

  /** The upload's events after `afterSeq`, oldest first. */
  events(id: string, afterSeq = 0): Promise<JobEvent[]> {
    return recordEvents(this.redis, this.keys.upload(id), afterSeq, 1000);
  }

  private async transition(
    id: string,
    from: UploadStatus[],
    to: UploadStatus,
    type: JobEventType,
    data: object,
    fields: Record<string, string>,
    final: boolean,
  ): Promise<JobEvent | null> {
    return (await this.apply(id, from, to, type, data, fields, final)).event;
  }

  private apply(id: string, from: UploadStatus[], to: UploadStatus | '', type: JobEventType | '', data: object, fields: Record<string, string>, final = false) {
    const keys = { record: this.keys.upload(id), events: this.keys.events };
    return runTransition(this.redis, keys, id, { from, to, type, data, fields, now: new Date(), final, maxLen: this.maxLen, ttl: this.ttl });
  }
}
