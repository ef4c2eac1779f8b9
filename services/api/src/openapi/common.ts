import { IDEMPOTENCY_KEY } from '../job-submission.js';
import { VIDEO_ID } from '../upload-auth.schema.js';
import { ref } from './components.js';

/** Building blocks of the OpenAPI document shared by many operations. */

export type Obj = Record<string, unknown>;

const codeList = (codes: readonly string[]) => codes.map((c) => `\`${c}\``).join(', ');

const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** An error answer: the envelope, with the codes this operation answers at this status. */
export function error(description: string, codes: readonly string[], headers: Obj = {}): Obj {
  return {
    description: `${description} Codes: ${codeList(codes)}.`,
    ...(Object.keys(headers).length ? { headers } : {}),
    content: { 'application/json': { schema: ref('Error') } },
  };
}

/** A JSON answer of `schema`. */
export function json(description: string, schema: Obj, headers: Obj = {}): Obj {
  return { description, ...(Object.keys(headers).length ? { headers } : {}), content: { 'application/json': { schema } } };
}

export const noStore = { 'Cache-Control': headerRef('CacheControl') };
export const rateLimited = {
  ...noStore,
  'RateLimit-Limit': headerRef('RateLimitLimit'),
  'RateLimit-Remaining': headerRef('RateLimitRemaining'),
  'RateLimit-Reset': headerRef('RateLimitReset'),
};
export const location = { Location: headerRef('Location') };

/** Answers any route may give: malformed bodies or paths, failures. */
export const COMMON_ERRORS = {
  '400': ['INVALID_JSON', 'JSON_TOO_DEEP'],
  '413': ['PAYLOAD_TOO_LARGE'],
  '415': ['UNSUPPORTED_MEDIA_TYPE'],
};

export const unauthorized = (who = 'No, an unknown or an expired API key (or client token).') =>
  error(who, ['UNAUTHORIZED'], { 'WWW-Authenticate': headerRef('WWWAuthenticate') });
export const tooManyRequests = error("Over the API key's rate limit: try again after `Retry-After` seconds.", ['RATE_LIMITED'], {
  ...rateLimited,
  'Retry-After': headerRef('RetryAfter'),
});
export const internal = error('Unexpected failure; nothing about it is shown.', ['INTERNAL', 'RATE_LIMIT_FAILED']);
export const unavailable = (codes: readonly string[] = []) =>
  error('A dependency (Redis, the token service, the queue) is unavailable; retry later.', ['REDIS_UNAVAILABLE', 'SERVICE_UNAVAILABLE', ...codes], {
    'Retry-After': headerRef('RetryAfter'),
  });
export const payloadTooLarge = error('The body is over 64 KiB.', COMMON_ERRORS['413']);
export const unsupportedMedia = error('The body is not JSON (send `content-type: application/json`) or not UTF-8.', COMMON_ERRORS['415']);

/** `components` apart from schemas. */
export const COMPONENTS = {
  securitySchemes: {
    apiKey: {
      type: 'http',
      scheme: 'bearer',
      description: "A tenant's API key (`TENANTS_FILE` `apiKeys`, `API_KEYS`). Opens every `/v1` route of its tenant.",
    },
    clientToken: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'ct_…',
      description: "A direct upload's client token (from `POST /v1/uploads`): opens only that upload's client endpoints until it expires.",
    },
    vodSignature: {
      type: 'apiKey',
      in: 'header',
      name: 'X-VOD-SIGNATURE',
      description: 'MD5 hex of `<callback URL>|<X-VOD-TIMESTAMP>|<VOD_CALLBACK_KEY>`; the timestamp within 5 minutes.',
    },
    adminToken: { type: 'http', scheme: 'bearer', description: '`ADMIN_TOKEN`.' },
    adminBasic: { type: 'http', scheme: 'basic', description: 'User `admin`, password `ADMIN_TOKEN` (so a browser can log in).' },
  },
  headers: {
    CacheControl: { description: '`no-store`', schema: { type: 'string', const: 'no-store' } },
    Location: { description: 'The path of the resource created or found', schema: { type: 'string' } },
    RateLimitLimit: { description: 'Requests allowed per window for this API key', schema: { type: 'integer' } },
    RateLimitRemaining: { description: 'Requests left in this window', schema: { type: 'integer' } },
    RateLimitReset: { description: 'Seconds until the window ends', schema: { type: 'integer' } },
    RetryAfter: { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
    WWWAuthenticate: { description: 'The challenge: `Bearer realm="vod-ingest"` (or Basic for `/admin/queues`)', schema: { type: 'string' } },
  },
  parameters: {
    JobId: { name: 'id', in: 'path', required: true, description: 'A job id (`job_…`)', schema: { type: 'string' } },
    UploadId: { name: 'id', in: 'path', required: true, description: 'A direct upload id (`upl_…`)', schema: { type: 'string' } },
    VideoId: { name: 'videoId', in: 'path', required: true, description: "VOD's VideoId", schema: { type: 'string', pattern: VIDEO_ID.source } },
    IdempotencyKey: {
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'The same key and body answer the same job (`200`); another body is `409 IDEMPOTENCY_KEY_REUSED`.',
      schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
    },
    LastEventId: {
      name: 'Last-Event-ID',
      in: 'header',
      required: false,
      description: 'The `id` (seq) of the last event received: the stream resumes after it.',
      schema: { type: 'string', pattern: '^\\d{1,15}$' },
    },
    Origin: {
      name: 'Origin',
      in: 'header',
      required: false,
      description: "A browser's origin; CORS headers answer only the tenant's `origins`.",
      schema: { type: 'string' },
    },
  },
};

export const param = (name: keyof typeof COMPONENTS.parameters) => ({ $ref: `#/components/parameters/${name}` });
