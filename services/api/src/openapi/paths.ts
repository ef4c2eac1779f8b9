import { ref, listQueryParameters } from './components.js';
import {
  COMMON_ERRORS,
  error,
  internal,
  json,
  location,
  noStore,
  param,
  payloadTooLarge,
  rateLimited,
  tooManyRequests,
  unauthorized,
  unavailable,
  unsupportedMedia,
  type Obj,
} from './common.js';

const API_KEY = [{ apiKey: [] }];
const API_KEY_OR_CLIENT_TOKEN = [{ apiKey: [] }, { clientToken: [] }];
const NONE: never[] = [];

const body = (schema: Obj, required = true, description?: string) => ({
  required,
  ...(description ? { description } : {}),
  content: { 'application/json': { schema } },
});
const invalid = (codes: readonly string[]) =>
  error('The request is malformed; `details` name every offending field.', [...COMMON_ERRORS['400'], 'VALIDATION_FAILED', ...codes]);
const invalidPath = (codes: readonly string[] = []) => error('A path parameter or the body is malformed.', ['INVALID_PATH', ...COMMON_ERRORS['400'], ...codes]);
const html = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });
const javascript = (description: string) => ({
  description,
  content: { 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } },
});

const SOURCE_URL_400 = [
  'SOURCE_URL_INVALID',
  'SOURCE_URL_SCHEME',
  'SOURCE_URL_CREDENTIALS',
  'SOURCE_URL_UNRESOLVABLE',
  'SOURCE_URL_TOO_MANY_REDIRECTS',
  'SOURCE_URL_UNREACHABLE',
];
const CALLBACK_URL_400 = SOURCE_URL_400.map((c) => c.replace('SOURCE_URL_', 'CALLBACK_URL_'));
const CREDENTIAL_5XX = ['TOKEN_SERVICE_UNAVAILABLE', 'CREDENTIALS_UNAVAILABLE'];
const badGateway = error("Alibaba Cloud or the token service refused or failed (Alibaba's own code is passed through when it has one).", [
  'CREDENTIALS_REJECTED',
  'TOKEN_SERVICE_ERROR',
  'VOD_BAD_REPLY',
  'ALIBABA_BAD_REPLY',
  'NETWORK_ERROR',
]);

/** Operations under `/v1/jobs` (the jobs API). */
const jobs: Obj = {
  '/v1/jobs': {
    post: {
      tags: ['jobs'],
      operationId: 'submitJob',
      summary: 'Submit an ingest job',
      description:
        'Validates the request, checks the target against the tenant and the source (file under `INGEST_ROOTS`, or a url whose every address and redirect is allowed), records the job and enqueues it. Nothing is recorded or enqueued for a refused request.',
      security: API_KEY,
      parameters: [param('IdempotencyKey')],
      requestBody: body(ref('JobRequest')),
      responses: {
        '200': json('The job an earlier request with the same `Idempotency-Key` and body created.', ref('JobView'), { ...rateLimited, ...location }),
        '202': json('The job, queued.', ref('JobView'), { ...rateLimited, ...location }),
        '400': invalid([
          'IDEMPOTENCY_KEY_INVALID',
          'SOURCE_PATH_INVALID',
          'SOURCE_PATH_NOT_ABSOLUTE',
          'SOURCE_NOT_FOUND',
          'SOURCE_NOT_REGULAR_FILE',
          'SOURCE_HEADERS_NOT_CONFIGURED',
          ...SOURCE_URL_400,
          ...CALLBACK_URL_400,
        ]),
        '401': unauthorized('No or an unknown API key; a client token is refused here.'),
        '403': error("The target or source is not the tenant's to use.", [
          'TARGET_NOT_ALLOWED',
          'FILE_SOURCES_DISABLED',
          'SOURCE_PATH_TRAVERSAL',
          'SOURCE_OUTSIDE_INGEST_ROOTS',
          'SOURCE_SYMLINK_ESCAPE',
          'SOURCE_NOT_READABLE',
          'SOURCE_URL_FORBIDDEN_ADDRESS',
          'CALLBACK_URL_FORBIDDEN_ADDRESS',
        ]),
        '409': error('The `Idempotency-Key` was used with another body.', ['IDEMPOTENCY_KEY_REUSED']),
        '413': payloadTooLarge,
        '415': unsupportedMedia,
        '429': tooManyRequests,
        '500': internal,
        '503': unavailable(['QUEUE_UNAVAILABLE']),
      },
    },
    get: {
      tags: ['jobs'],
      operationId: 'listJobs',
      summary: "List the tenant's jobs, newest first",
      security: API_KEY,
      parameters: listQueryParameters().map((p) => (p.name === 'limit' ? { ...p, description: 'Page size, 1..100. Defaults to 20.' } : p)),
      responses: {
        '200': json('A page of jobs.', ref('JobListPage'), noStore),
        '400': error('A query parameter is invalid.', [...COMMON_ERRORS['400'], 'VALIDATION_FAILED']),
        '401': unauthorized('No or an unknown API key; a client token is refused here.'),
        '500': internal,
        '503': unavailable(),
      },
    },
  },
  '/v1/jobs/{id}': {
    parameters: [param('JobId')],
    get: {
      tags: ['jobs'],
      operationId: 'getJob',
      summary: 'Read a job',
      security: API_KEY,
      responses: {
        '200': json('The job view.', ref('JobView'), noStore),
        '400': invalidPath(),
        '401': unauthorized('No or an unknown API key; a client token is refused here.'),
        '404': error("No such job (another tenant's job is absent too).", ['JOB_NOT_FOUND']),
        '500': internal,
        '503': unavailable(),
      },
    },
    delete: {
      tags: ['jobs'],
      operationId: 'cancelJob',
      summary: 'Cancel a job',
      description:
        'A queued job no worker holds yet is canceled at once (`200`); a running one, or a queued one a worker has just taken, gets `cancelRequested` (`202`): its worker stops at a part boundary and aborts the multipart upload (a single PUT is one part, so such a job may still end `succeeded`).',
      security: API_KEY,
      responses: {
        '200': json('Canceled.', ref('JobView'), noStore),
        '202': json('Cancel requested; the job ends `canceled` unless its last part was already on its way.', ref('JobView'), noStore),
        '400': invalidPath(),
        '401': unauthorized('No or an unknown API key; a client token is refused here.'),
        '404': error('No such job.', ['JOB_NOT_FOUND']),
        '409': error('The job has already finished.', ['JOB_FINISHED']),
        '500': internal,
        '503': unavailable(),
      },
    },
  },
  '/v1/jobs/{id}/events': {
    parameters: [param('JobId')],
    get: {
      tags: ['jobs'],
      operationId: 'jobEvents',
      summary: "Follow a job's events (server-sent events)",
      description:
        "The job's history, then live events, each as `id: <seq>`, `event: <type>` (`job.queued`, `job.started`, `job.progress`, `job.succeeded`, `job.failed`, `job.canceled`, `video.ready`, `video.failed`), `data: <the event envelope as JSON>`; comment lines keep the connection open. The stream ends after the terminal event. At most `SSE_MAX_PER_TENANT` open streams per tenant.",
      security: API_KEY,
      parameters: [param('LastEventId')],
      responses: {
        '200': { description: 'The event stream.', headers: noStore, content: { 'text/event-stream': { schema: { type: 'string' } } } },
        '400': invalidPath(['LAST_EVENT_ID_INVALID']),
        '401': unauthorized('No or an unknown API key; a client token is refused here.'),
        '404': error('No such job.', ['JOB_NOT_FOUND']),
        '429': error('Too many open streams for this tenant.', ['TOO_MANY_STREAMS']),
        '500': internal,
        '503': unavailable(),
      },
    },
  },
};

const clientGuard = {
  '401': unauthorized(),
  '403': error('A CORS origin not allowed for this client token.', ['ORIGIN_NOT_ALLOWED']),
  '413': payloadTooLarge,
  '415': unsupportedMedia,
  '429': tooManyRequests,
  '500': internal,
};

/** Direct uploads: the backend creates one, the client uploads with Alibaba's SDK. */
const uploads: Obj = {
  '/v1/uploads': {
    post: {
      tags: ['uploads'],
      operationId: 'createUpload',
      summary: 'Create a direct upload and its client token',
      security: API_KEY,
      requestBody: body(ref('UploadRequest')),
      responses: {
        '201': json('The upload, with its client token (shown once).', ref('UploadCreated'), { ...noStore, ...location }),
        '400': invalid(CALLBACK_URL_400),
        '401': unauthorized('No or an unknown API key; a client token is refused here.'),
        '403': error("The target or origin is not the tenant's.", ['TARGET_NOT_ALLOWED', 'ORIGIN_NOT_ALLOWED', 'CALLBACK_URL_FORBIDDEN_ADDRESS']),
        '413': payloadTooLarge,
        '415': unsupportedMedia,
        '500': internal,
        '503': unavailable(),
      },
    },
  },
  '/v1/uploads/{id}': {
    parameters: [param('UploadId')],
    get: {
      tags: ['uploads'],
      operationId: 'getUpload',
      summary: 'Read a direct upload',
      security: API_KEY_OR_CLIENT_TOKEN,
      parameters: [param('Origin')],
      responses: {
        '200': json('The upload view.', ref('UploadView'), rateLimited),
        '400': invalidPath(),
        ...clientGuard,
        '404': error("No such upload (another tenant's, or not the client token's).", ['UPLOAD_NOT_FOUND']),
        '503': unavailable(),
      },
    },
  },
  '/v1/uploads/{id}/complete': {
    parameters: [param('UploadId')],
    post: {
      tags: ['uploads'],
      operationId: 'completeUpload',
      summary: 'Report an oss upload done',
      description: 'The api checks the object (exists, within `maxBytes`), then `upload.completed` or `upload.failed`. Answers the upload as it then stands.',
      security: API_KEY_OR_CLIENT_TOKEN,
      parameters: [param('Origin')],
      responses: {
        '200': json('The upload view.', ref('UploadView'), rateLimited),
        '400': invalidPath(),
        ...clientGuard,
        '404': error('No such upload.', ['UPLOAD_NOT_FOUND']),
        '409': error('A vod upload (VOD reports it), or nothing is stored yet.', ['UPLOAD_NOT_OSS', 'UPLOAD_INCOMPLETE']),
        '502': badGateway,
        '503': unavailable(CREDENTIAL_5XX),
      },
    },
  },
};

/** The "AppServer" endpoints for Alibaba's upload SDKs. */
const credentials: Obj = {
  '/v1/sts-tokens': {
    post: {
      tags: ['credentials'],
      operationId: 'createStsToken',
      summary: 'An STS credential for the upload SDKs',
      description:
        "The token service's `client` credential scoped to the tenant (its OSS places, VOD's upload flow); for a client token, to its upload's one object or VOD's upload flow.",
      security: API_KEY_OR_CLIENT_TOKEN,
      parameters: [param('Origin')],
      responses: {
        '200': json('The STS credential.', ref('StsToken'), rateLimited),
        '400': error('The body is malformed.', COMMON_ERRORS['400']),
        ...clientGuard,
        '409': error("The client token's upload has finished.", ['UPLOAD_FINISHED']),
        '502': badGateway,
        '503': unavailable(CREDENTIAL_5XX),
      },
    },
  },
  '/v1/vod/upload-auth': {
    post: {
      tags: ['credentials'],
      operationId: 'createUploadAuth',
      summary: 'VOD CreateUploadVideo: UploadAuth and UploadAddress',
      description:
        "With an API key the body is `UploadAuthRequest`. With a client token it is optional (`DirectUploadAuthRequest`): the upload's own fields are used, the page may add `fileName` and `fileSize`; the first call creates the upload's video, later ones refresh it.",
      security: API_KEY_OR_CLIENT_TOKEN,
      parameters: [param('Origin')],
      requestBody: body({ anyOf: [ref('UploadAuthRequest'), ref('DirectUploadAuthRequest')] }, false),
      responses: {
        '200': json("VOD's reply.", ref('UploadAuthReply'), rateLimited),
        '400': invalid([]),
        ...clientGuard,
        '403': error('The tenant has no VOD, names a VOD field value it may not, or a CORS origin is not allowed.', [
          'TARGET_NOT_ALLOWED',
          'ORIGIN_NOT_ALLOWED',
        ]),
        '409': error("The client token's upload goes to OSS, or has finished.", ['UPLOAD_NOT_VOD', 'UPLOAD_FINISHED']),
        '413': error("The body is over 64 KiB, or `fileSize` is over the upload's `maxBytes`.", ['PAYLOAD_TOO_LARGE', 'UPLOAD_TOO_LARGE']),
        '502': badGateway,
        '503': unavailable(CREDENTIAL_5XX),
      },
    },
  },
  '/v1/vod/upload-auth/{videoId}/refresh': {
    parameters: [param('VideoId')],
    post: {
      tags: ['credentials'],
      operationId: 'refreshUploadAuth',
      summary: 'VOD RefreshUploadVideo for a video this tenant created here',
      security: API_KEY_OR_CLIENT_TOKEN,
      parameters: [param('Origin')],
      responses: {
        '200': json("VOD's reply.", ref('UploadAuthReply'), rateLimited),
        '400': invalidPath(['VALIDATION_FAILED']),
        ...clientGuard,
        '403': error('The tenant has no VOD, or a CORS origin is not allowed.', ['TARGET_NOT_ALLOWED', 'ORIGIN_NOT_ALLOWED']),
        '404': error("Not a video this tenant (or this client token's upload) created.", ['VIDEO_NOT_FOUND']),
        '502': badGateway,
        '503': unavailable(CREDENTIAL_5XX),
      },
    },
  },
};

const vodEvents: Obj = {
  '/v1/vod/events': {
    post: {
      tags: ['vod-events'],
      operationId: 'vodEvent',
      summary: "VOD's event notifications (HTTP callbacks)",
      description:
        'Signed by VOD (`X-VOD-TIMESTAMP`, `X-VOD-SIGNATURE`); a repeat is ignored, and so is a VideoId nobody here created (200, so VOD stops retrying). Off (404) without `VOD_CALLBACK_KEY`.',
      security: [{ vodSignature: [] }],
      parameters: [{ name: 'X-VOD-TIMESTAMP', in: 'header', required: true, description: 'Unix seconds', schema: { type: 'string', pattern: '^\\d{1,12}$' } }],
      requestBody: body(ref('VodEvent')),
      responses: {
        '200': json('Taken: applied, ignored or a duplicate.', ref('VodEventAck')),
        '400': error('Not a VOD event, or a malformed body.', [...COMMON_ERRORS['400'], 'VOD_EVENT_INVALID']),
        '401': error('The signature does not match or the timestamp is stale.', ['VOD_SIGNATURE_INVALID', 'VOD_TIMESTAMP_STALE']),
        '404': error('VOD event notifications are not configured.', ['VOD_EVENTS_DISABLED']),
        '413': payloadTooLarge,
        '415': unsupportedMedia,
        '500': internal,
        '503': unavailable(['VOD_EVENT_EARLY']),
      },
    },
  },
};

/** Browser preflights for the client endpoints, answered before authentication. */
const preflight = {
  tags: ['credentials'],
  summary: 'CORS preflight',
  description: 'Allows the methods and headers of the client endpoints to an origin some tenant lists (`origins`); other origins get no CORS headers.',
  security: NONE,
  responses: { '204': { description: 'No content; `Access-Control-Allow-*` for an allowed origin.' } },
};
for (const [path, ops] of Object.entries({ ...uploads, ...credentials })) {
  if (path !== '/v1/uploads') (ops as Obj).options = { ...preflight, operationId: `preflight${path.replace(/\W+/g, '_')}` };
}

/** Health, metrics and the pages: no authentication. */
const operations: Obj = {
  '/healthz': {
    get: { tags: ['operations'], operationId: 'healthz', summary: 'Liveness', security: NONE, responses: { '200': json('Alive.', ref('Health')) } },
  },
  '/readyz': {
    get: {
      tags: ['operations'],
      operationId: 'readyz',
      summary: 'Readiness: Redis and the token service',
      security: NONE,
      responses: { '200': json('Ready.', ref('Readiness')), '503': json('A dependency is unavailable.', ref('Readiness')) },
    },
  },
  '/metrics': {
    get: {
      tags: ['operations'],
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      security: NONE,
      responses: { '200': { description: 'Prometheus text format.', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  },
  '/openapi.json': {
    get: {
      tags: ['docs'],
      operationId: 'openapi',
      summary: 'This document',
      description: 'Generated from the zod schemas the api validates requests with.',
      security: NONE,
      responses: { '200': { description: 'OpenAPI 3.1.', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  },
  '/docs': {
    get: {
      tags: ['docs'],
      operationId: 'docs',
      summary: 'This document as a page',
      security: NONE,
      responses: { '200': html('The reference page (no external assets).') },
    },
  },
  '/docs/{file}': {
    get: {
      tags: ['docs'],
      operationId: 'docsAsset',
      summary: "The reference page's script and style",
      security: NONE,
      parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string', enum: ['docs.js', 'docs.css'] } }],
      responses: { '200': javascript('The file.'), '404': error('No such file.', ['ROUTE_NOT_FOUND']) },
    },
  },
  '/demo': {
    get: {
      tags: ['docs'],
      operationId: 'demoRedirect',
      summary: 'Redirects to `/demo/`',
      security: NONE,
      responses: { '301': { description: 'To `/demo/`.', headers: location } },
    },
  },
  '/demo/': {
    get: {
      tags: ['docs'],
      operationId: 'demo',
      summary: 'The direct-upload demo page',
      description: "Uploads a file to VOD with Alibaba's web SDK through a direct upload; the API key stays in the URL fragment (`#key=…`).",
      security: NONE,
      responses: { '200': html('The page.') },
    },
  },
  '/demo/{file}': {
    get: {
      tags: ['docs'],
      operationId: 'demoAsset',
      summary: "The demo page's files and Alibaba's browser SDKs",
      security: NONE,
      parameters: [{ name: 'file', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { '200': javascript('The file.'), '404': error('No such file.', ['ROUTE_NOT_FOUND']) },
    },
  },
  '/admin/queues': {
    get: {
      tags: ['operations'],
      operationId: 'queueBoard',
      summary: 'Queue dashboard (bull-board)',
      description:
        "Served only with `ADMIN_TOKEN` set (else 404): bull-board's page, static assets and JSON API (`/admin/queues/api/...`) over the `ingest` and `webhooks` queues. Read-only (`405` to changes) unless `ADMIN_QUEUES_WRITABLE=1`; cross-site state-changing requests are `403 CROSS_SITE_REQUEST`. Tenants' API keys do not open it.",
      security: [{ adminToken: [] }, { adminBasic: [] }],
      responses: {
        '200': html('The dashboard.'),
        '401': unauthorized('Missing or invalid admin credentials.'),
        '404': error('No `ADMIN_TOKEN`: the dashboard is not mounted.', ['ROUTE_NOT_FOUND']),
      },
    },
  },
};

/** Every path the api serves. */
export function paths(): Obj {
  return { ...jobs, ...uploads, ...credentials, ...vodEvents, ...operations };
}
