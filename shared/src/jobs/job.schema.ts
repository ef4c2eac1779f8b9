import { z } from 'zod';
import { headerValue, keyMessages, maxBytes, plainText, wellFormedString } from './text-rules.js';
import { vodVideoFields } from './vod-fields.js';

/** Smallest part size a job may ask for (100 KiB, OSS's own lower bound for multipart). */
export const MIN_JOB_PART_SIZE = 100 * 1024;
/** Largest part OSS accepts (5 GiB). */
export const MAX_JOB_PART_SIZE = 5 * 1024 ** 3;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
/** Headers a url source may not set: they belong to the transport, not to the caller. */
const RESERVED_HEADERS = new Set([
  'host',
  'accept-encoding',
  'content-length',
  'transfer-encoding',
  'connection',
  'range',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'proxy-authorization',
]);

const fileSource = z.strictObject({
  type: z.literal('file'),
  path: wellFormedString()
    .min(1)
    .max(4096)
    .refine((p) => !p.includes('\0'), 'must not contain NUL'),
});

const urlSource = z.strictObject({
  type: z.literal('url'),
  url: plainText().min(1).max(2048),
  /** Sent with every request for the media (Authorization, cookies); stored encrypted, never echoed. */
  headers: z
    .record(
      z
        .string()
        .regex(HEADER_NAME, 'not a header name')
        .refine((h) => !RESERVED_HEADERS.has(h.toLowerCase()), 'this header may not be set'),
      headerValue().max(4096),
      keyMessages,
    )
    .refine((h) => Object.keys(h).length <= 20, 'at most 20 headers')
    .optional(),
});

const BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** VOD's CreateUploadVideo fields (shared with `POST /v1/vod/upload-auth`); `fileName` defaults to the source's base name. */
const vodTarget = z.strictObject({ type: z.literal('vod'), ...vodVideoFields.shape });

/** An OSS object key: 1..1,023 bytes (UTF-8), not starting with a slash or backslash. */
const ossKey = plainText()
  .min(1, 'must not be empty')
  .refine(...maxBytes(1023))
  .refine((k) => !k.startsWith('/') && !k.startsWith('\\'), 'may not start with a slash or backslash');

const ossTarget = z.strictObject({
  type: z.literal('oss'),
  bucket: z.string().regex(BUCKET, '3-63 of a-z 0-9 -, starting and ending with a letter or digit'),
  key: ossKey,
  /** Sent as the Content-Type header. */
  contentType: headerValue().min(1).max(255).optional(),
  /** Stored as `x-oss-meta-*` headers. */
  metadata: z
    .record(z.string().regex(/^[a-z0-9-]{1,64}$/, 'lower-case letters, digits and -'), headerValue().max(1024), keyMessages)
    .refine((m) => Object.keys(m).length <= 32, 'at most 32 entries')
    .optional(),
});

const uploadSettings = z.strictObject({
  /** Bytes per part; at least 100 KiB. Defaults to 8 MiB; grown so no upload needs over 10,000 parts. */
  partSize: z.number().int().min(MIN_JOB_PART_SIZE).max(MAX_JOB_PART_SIZE).optional(),
  /** Parts in flight at once, 1..32. Defaults to 5. */
  parallel: z.number().int().min(1).max(32).optional(),
  /** Retries per part, 0..10. Defaults to 3. */
  retryCount: z.number().int().min(0).max(10).optional(),
  /** First retry delay in seconds (doubling), 0.1..60. Defaults to 2, as Alibaba's upload SDKs. */
  retryDuration: z.number().min(0.1).max(60).optional(),
});

const metadata = z
  .record(wellFormedString().min(1).max(64), z.union([wellFormedString().max(1024), z.number(), z.boolean(), z.null()]), keyMessages)
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 entries')
  .refine((m) => JSON.stringify(m).length <= 4096, 'at most 4 KiB as JSON');

/** The body of `POST /v1/jobs` (its OpenAPI document: /openapi.json). Unknown fields are refused, so typos surface. */
export const jobRequestSchema = z.strictObject({
  source: z.discriminatedUnion('type', [fileSource, urlSource], { error: 'source.type must be "file" or "url"' }),
  target: z.discriminatedUnion('type', [vodTarget, ossTarget], { error: 'target.type must be "vod" or "oss"' }),
  upload: uploadSettings.optional(),
  callbackUrl: plainText().min(1).max(2048).optional(),
  metadata: metadata.optional(),
});

export type JobRequest = z.infer<typeof jobRequestSchema>;
export type JobSource = JobRequest['source'];
export type JobTarget = JobRequest['target'];
export type VodTarget = Extract<JobTarget, { type: 'vod' }>;
export type OssTarget = Extract<JobTarget, { type: 'oss' }>;
export type UploadSettings = NonNullable<JobRequest['upload']>;

/** A source as stored and shown: a url source's headers are kept apart, sealed, and never shown. */
export type StoredSource = { type: 'file'; path: string } | { type: 'url'; url: string; headerNames?: string[] };

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'canceled'];

export interface JobProgress {
  bytesUploaded: number;
  bytesTotal: number;
  partsUploaded: number;
  partsTotal: number;
  /** url sources: bytes fetched from the origin so far (the download comes before the upload). */
  bytesDownloaded?: number;
}

export interface JobResult {
  videoId?: string;
  bucket: string;
  key: string;
  size: number;
  etag: string;
  /** CRC-64/ECMA of the whole object, unsigned decimal (as `x-oss-hash-crc64ecma`). */
  crc64: string;
}

export interface JobError {
  code: string;
  message: string;
  retryable: boolean;
}

/** `GET /v1/jobs/{id}`: the job view. */
export interface JobView {
  id: string;
  status: JobStatus;
  source: StoredSource;
  target: JobTarget;
  upload?: UploadSettings;
  callbackUrl?: string;
  metadata: Record<string, unknown>;
  progress: JobProgress;
  attempts: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** True once a cancel was asked for a running job that has not stopped yet. */
  cancelRequested?: boolean;
  result?: JobResult;
  error?: JobError;
  /** vod targets: VOD's processing of the video after the upload (from its event notifications). */
  video?: JobVideo;
}

/** Where VOD's processing of a video stands: `processing` after FileUploadComplete, then `ready` or `failed`. */
export interface JobVideo {
  status: 'processing' | 'ready' | 'failed';
  [detail: string]: unknown;
}

/** What the ingest queue's BullMQ job carries: ids only; the request lives in the job record. */
export interface IngestJobData {
  jobId: string;
  tenant: string;
}
