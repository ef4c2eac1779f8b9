import { z } from 'zod';
import { jobRequestSchema, JOB_STATUSES, UPLOAD_STATUSES } from '@vod-ingest/shared';

/*
 * The api's replies as zod schemas, for the OpenAPI document only: the routes build these shapes
 * from the TypeScript interfaces (JobView, UploadView, AppError#toJSON, ...) and never parse them
 * with these. Objects are strict so that a field the document does not know fails the tests that
 * check every reply against it (test/helpers.ts).
 */

const timestamp = z.iso.datetime().describe('ISO 8601, UTC');

const fieldProblem = z.strictObject({
  field: z.string().describe('Dotted path of the field (`tags.3`); `(body)` for the body as a whole'),
  message: z.string(),
});

/** `{"error": {code, message, details}}`: every answer that is not a success. */
export const errorEnvelope = z.strictObject({
  error: z.strictObject({
    code: z.string().describe("UPPER_SNAKE code (or Alibaba Cloud's own code for a refusal passed through)"),
    message: z.string(),
    details: z.array(fieldProblem).describe('The offending fields, when there are any'),
  }),
});

const jobError = z.strictObject({ code: z.string(), message: z.string(), retryable: z.boolean() });

/** VOD's processing of the video: `processing`, then `ready` or `failed` (with VOD's code and message). */
const videoState = z.looseObject({ status: z.enum(['processing', 'ready', 'failed']), videoId: z.string().optional() });

const storedSource = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('file'), path: z.string() }),
  z.strictObject({
    type: z.literal('url'),
    url: z.string(),
    headerNames: z.array(z.string()).optional().describe('Names of the headers sent with the request; their values are never shown'),
  }),
]);

const count = () => z.number().int().min(0);

/** `GET /v1/jobs/{id}`. */
export const jobViewSchema = z.strictObject({
  id: z.string().regex(/^job_[0-9a-z]+$/),
  status: z.enum(JOB_STATUSES),
  source: storedSource,
  target: jobRequestSchema.shape.target,
  upload: jobRequestSchema.shape.upload,
  callbackUrl: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()),
  progress: z.strictObject({
    bytesUploaded: count(),
    bytesTotal: count(),
    partsUploaded: count(),
    partsTotal: count(),
    bytesDownloaded: count().optional().describe('url sources: bytes fetched from the origin so far'),
  }),
  attempts: count(),
  createdAt: timestamp,
  startedAt: timestamp.optional(),
  finishedAt: timestamp.optional(),
  cancelRequested: z.literal(true).optional().describe('A cancel was asked for this running job; its worker stops at a part boundary'),
  result: z
    .strictObject({
      videoId: z.string().optional(),
      bucket: z.string(),
      key: z.string(),
      size: count(),
      etag: z.string(),
      crc64: z.string().regex(/^\d+$/).describe('CRC-64/ECMA of the object, unsigned decimal'),
    })
    .optional(),
  error: jobError.optional(),
  video: videoState.optional(),
});

/** `GET /v1/jobs`: newest first. */
export const jobListPageSchema = z.strictObject({
  jobs: z.array(jobViewSchema),
  nextCursor: z.string().optional().describe('Pass as `cursor` for the next page; absent on the last page'),
});

/** `GET /v1/uploads/{id}` (and the other upload answers). */
export const uploadViewSchema = z.strictObject({
  id: z.string().regex(/^upl_[0-9a-z]+$/),
  status: z.enum(UPLOAD_STATUSES),
  target: jobRequestSchema.shape.target,
  maxBytes: z.number().int().positive().optional(),
  origin: z.string().optional(),
  callbackUrl: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: timestamp,
  expiresAt: timestamp,
  finishedAt: timestamp.optional(),
  videoId: z.string().optional().describe('vod uploads: the video, once UploadAuth was asked for (or VOD reported it)'),
  result: z.strictObject({ size: count().optional(), videoId: z.string().optional(), bucket: z.string().optional(), key: z.string().optional() }).optional(),
  video: videoState.optional(),
  error: jobError.optional(),
});

/** `POST /v1/uploads`: the view and the client token, shown this once. */
export const uploadCreatedSchema = uploadViewSchema.extend({
  clientToken: z.string().regex(/^ct_/).describe("Opens this upload's client endpoints until `expiresAt`; shown once"),
});

/** `POST /v1/sts-tokens`: what the upload SDKs' `init(...)`/`setSTSToken` take. */
export const stsTokenSchema = z.strictObject({
  AccessKeyId: z.string(),
  AccessKeySecret: z.string(),
  SecurityToken: z.string(),
  Expiration: timestamp,
  Region: z.string(),
});

/** Both upload-auth routes: VOD's own fields, base64 strings exactly as VOD returned them. */
export const uploadAuthReplySchema = z.strictObject({
  VideoId: z.string(),
  UploadAddress: z.string().describe('base64 JSON: Endpoint, Bucket, FileName'),
  UploadAuth: z.string().describe('base64 JSON: an STS credential that may write this one object'),
  RequestId: z.string(),
});

/** VOD's event notification (the fields the api reads; VOD sends more). The route checks only `EventType`. */
export const vodEventSchema = z.looseObject({
  EventType: z.string().describe('FileUploadComplete, StreamTranscodeComplete, TranscodeComplete, …'),
  VideoId: z.string().optional(),
  Status: z.string().optional(),
  EventTime: z.string().optional(),
  Size: z.number().optional(),
  Extend: z.unknown().optional().describe('UserData.Extend; `{"uploadId":"upl_…"}` names a direct upload'),
  ErrorCode: z.string().optional(),
  ErrorMessage: z.string().optional(),
});

export const vodEventAckSchema = z.strictObject({ status: z.enum(['applied', 'ignored', 'duplicate']) });

export const healthSchema = z.strictObject({ status: z.literal('ok') });

export const readinessSchema = z.strictObject({
  status: z.enum(['ok', 'unavailable']),
  checks: z.record(z.string(), z.string()).describe('`ok`, or why the dependency is unavailable'),
});
