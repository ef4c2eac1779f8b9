import type { JobError, JobTarget, JobVideo } from '../jobs/job.schema.js';

export const UPLOAD_STATUSES = ['created', 'uploading', 'uploaded', 'ready', 'failed', 'expired'] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

/** What a direct upload was created with (`POST /v1/uploads`). */
export interface UploadRequest {
  target: JobTarget;
  /** Largest object the client may upload; a bigger one fails the upload. */
  maxBytes?: number;
  /** The browser origin the client token is bound to. */
  origin?: string;
  callbackUrl?: string;
  metadata: Record<string, unknown>;
}

/** `GET /v1/uploads/{id}`. */
export interface UploadView extends UploadRequest {
  id: string;
  status: UploadStatus;
  createdAt: string;
  expiresAt: string;
  /** vod uploads: the video, once the client asked for its UploadAuth (or VOD told us). */
  videoId?: string;
  /** The stored object, once uploaded. */
  result?: { size?: number; videoId?: string; bucket?: string; key?: string };
  video?: JobVideo;
  error?: JobError;
  finishedAt?: string;
}

/** The record: the view plus the tenant. */
export interface UploadRecord extends UploadView {
  tenant: string;
}

const json = <T>(s: string | undefined): T | undefined => (s ? (JSON.parse(s) as T) : undefined);

/** A record from its Redis hash; a `created`/`uploading` upload past its expiry reads as `expired`. */
export function toUploadRecord(h: Record<string, string>, now = Date.now()): UploadRecord {
  const open = h.status === 'created' || h.status === 'uploading';
  return {
    id: h.id,
    tenant: h.tenant,
    status: open && Date.parse(h.expiresAt) <= now ? 'expired' : (h.status as UploadStatus),
    ...(JSON.parse(h.request) as UploadRequest),
    createdAt: h.createdAt,
    expiresAt: h.expiresAt,
    videoId: h.videoId || undefined,
    result: json(h.result),
    video: json(h.video),
    error: json(h.error),
    finishedAt: h.finishedAt,
  };
}

/** The public view: no tenant. */
export function uploadView(u: UploadRecord): UploadView {
  const { tenant: _t, ...view } = u;
  return JSON.parse(JSON.stringify(view)) as UploadView;
}
