import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import type { Redis } from 'ioredis';
import { AppError, NotFoundError, route, UnauthorizedError, type JobStore, type Logger, type UploadStore } from '@vod-ingest/shared';
import { redisCall } from './redis-keys.js';

export interface VodEventsDeps {
  log: Logger;
  redis: Redis;
  jobs: JobStore;
  uploads: UploadStore;
  /** VOD_CALLBACK_KEY: the private key set in VOD's callback settings; without it the route is off. */
  key?: string;
  /** VOD_CALLBACK_URL: the callback URL as set in VOD (signed as is); default: the URL the request reached. */
  callbackUrl?: string;
  /** Largest clock difference accepted. Defaults to 300 s. */
  maxSkewSeconds?: number;
}

/** The fields of VOD's callbacks that we use (the body has more). */
interface VodEvent {
  EventType: string;
  VideoId?: string;
  Status?: string;
  EventTime?: string;
  Size?: number;
  FileUrl?: string;
  Extend?: unknown;
  ErrorCode?: string;
  ErrorMessage?: string;
}

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

/** `X-VOD-SIGNATURE` = MD5 of `<callback URL>|<X-VOD-TIMESTAMP>|<private key>`, the timestamp fresh. */
function verify(req: Request, deps: VodEventsDeps): void {
  const ts = String(req.headers['x-vod-timestamp'] ?? '');
  const sig = String(req.headers['x-vod-signature'] ?? '').toLowerCase();
  const url = deps.callbackUrl ?? `${req.protocol}://${req.get('host')}${req.originalUrl}`;
  const expected = Buffer.from(md5(`${url}|${ts}|${deps.key}`));
  if (!/^\d{1,12}$/.test(ts) || sig.length !== expected.length || !timingSafeEqual(Buffer.from(sig), expected)) {
    throw new UnauthorizedError('The VOD callback signature does not match', 'VOD_SIGNATURE_INVALID');
  }
  if (Math.abs(Date.now() / 1000 - Number(ts)) > (deps.maxSkewSeconds ?? 300)) {
    throw new UnauthorizedError('The VOD callback timestamp is not fresh', 'VOD_TIMESTAMP_STALE');
  }
}

/** The direct upload a video was created for in the SDK's STS mode: the page put its id in UserData's Extend. */
function uploadIdIn(extend: unknown): string | undefined {
  let value = extend;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const id = (value as { uploadId?: unknown } | null)?.uploadId;
  return typeof id === 'string' && /^upl_[0-9a-z]{20,40}$/.test(id) ? id : undefined;
}

/**
 * `POST /v1/vod/events`: VOD's event notifications (HTTP callbacks) — signature and freshness
 * checked, repeats ignored — become `upload.completed`/`upload.failed` for direct uploads and
 * `video.ready`/`video.failed` for the videos of direct uploads and vod jobs. A VideoId nobody here
 * created is logged and ignored (200, so VOD stops retrying).
 */
export function vodEventRoutes(deps: VodEventsDeps): Router {
  const router = Router();
  const keys = deps.jobs.keys;
  router.post(
    '/v1/vod/events',
    route(async (req, res) => {
      if (!deps.key) throw new NotFoundError('VOD event notifications are not configured (VOD_CALLBACK_KEY)', 'VOD_EVENTS_DISABLED');
      verify(req, deps);
      const e = req.body as VodEvent | undefined;
      if (!e || typeof e.EventType !== 'string') throw new AppError('VOD_EVENT_INVALID', 'Not a VOD event notification', { status: 400 });
      const seen = keys.vodEvent(md5(JSON.stringify([e.VideoId, e.EventType, e.EventTime, e.Status, (e as { Definition?: string }).Definition])));
      if (await redisCall(deps.redis.exists(seen))) return void res.json({ status: 'duplicate' });
      const outcome = await handle(deps, e);
      if (outcome === 'not-yet') throw new AppError('VOD_EVENT_EARLY', 'The job has not finished yet; retry', { status: 503, retryable: true });
      await redisCall(deps.redis.set(seen, '1', 'EX', 24 * 3600));
      deps.log.info({ eventType: e.EventType, videoId: e.VideoId, status: e.Status, outcome }, 'VodEventReceived');
      res.json({ status: outcome });
    }),
  );
  return router;
}

type Outcome = 'applied' | 'ignored' | 'not-yet';

async function handle(deps: VodEventsDeps, e: VodEvent): Promise<Outcome> {
  if (!e.VideoId || !/^[0-9a-zA-Z]{1,64}$/.test(e.VideoId)) return 'ignored';
  let subject = await redisCall(deps.jobs.videoSubject(e.VideoId));
  const claimed = uploadIdIn(e.Extend);
  if (!subject && claimed && e.EventType === 'FileUploadComplete') {
    const upload = await redisCall(deps.uploads.get(claimed));
    if (upload?.target.type === 'vod' && (await redisCall(deps.uploads.bindVideo(upload.id, e.VideoId)))) subject = upload.id;
  }
  if (!subject) {
    deps.log.warn({ eventType: e.EventType, videoId: e.VideoId }, 'VodEventForUnknownVideo');
    return 'ignored';
  }
  return subject.startsWith('upl_') ? uploadEvent(deps, subject, e) : jobEvent(deps, subject, e);
}

const videoOf = (e: VodEvent, status: 'ready' | 'failed') =>
  status === 'ready'
    ? { status, videoId: e.VideoId }
    : { status, videoId: e.VideoId, code: e.ErrorCode ?? 'TranscodeFail', message: e.ErrorMessage ?? 'VOD could not process the video' };

/** Which processing outcome an event announces, if any: the first good stream makes the video playable. */
function processed(e: VodEvent): 'ready' | 'failed' | undefined {
  if (e.EventType === 'StreamTranscodeComplete' && e.Status === 'success') return 'ready';
  if (e.EventType === 'TranscodeComplete') return e.Status === 'success' ? 'ready' : 'failed';
  return undefined;
}

async function uploadEvent(deps: VodEventsDeps, id: string, e: VodEvent): Promise<Outcome> {
  const upload = await redisCall(deps.uploads.get(id));
  if (!upload) return 'ignored';
  if (e.EventType === 'FileUploadComplete' || processed(e)) {
    const size = typeof e.Size === 'number' ? e.Size : Number(e.Size ?? NaN);
    if (upload.maxBytes !== undefined && size > upload.maxBytes) {
      await deps.uploads.failed(id, {
        code: 'UPLOAD_TOO_LARGE',
        message: `The object is ${size} bytes; the upload allowed ${upload.maxBytes}`,
        retryable: false,
      });
      return 'applied';
    }
    // A processing event that overtook FileUploadComplete (retries) still reports the upload first.
    await deps.uploads.completed(id, { videoId: e.VideoId, ...(Number.isFinite(size) ? { size } : {}) }, false);
  }
  const outcome = processed(e);
  if (outcome) await deps.uploads.videoProcessed(id, videoOf(e, outcome));
  return 'applied';
}

async function jobEvent(deps: VodEventsDeps, id: string, e: VodEvent): Promise<Outcome> {
  if (e.EventType === 'FileUploadComplete') {
    await redisCall(deps.jobs.videoUploaded(id));
    return 'applied';
  }
  const outcome = processed(e);
  if (!outcome) return 'ignored';
  const written = await redisCall(deps.jobs.videoProcessed(id, videoOf(e, outcome)));
  return written === 'not-yet' ? 'not-yet' : 'applied';
}
