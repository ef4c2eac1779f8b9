import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import {
  AliOssStore,
  AppError,
  checkJobTarget,
  jobRequestSchema,
  NotFoundError,
  route,
  uploadView,
  validate,
  type Logger,
  type TenantCredentials,
  type Tenants,
  type UploadRecord,
  type UploadStore,
} from '@vod-ingest/shared';
import { apiKeyOnly, callerOf } from './api-keys.js';
import { checkCallbackUrl, type SourcePolicy } from './job-request.checks.js';
import { jsonBody } from './json-body.js';
import { redisCall } from './redis-keys.js';

export interface UploadRoutesDeps {
  log: Logger;
  uploads: UploadStore;
  tenants: Tenants;
  /** Where callbacks may go (URL_ALLOWLIST). */
  policy: SourcePolicy;
  /** Runs before each client route (CORS, rate limit). */
  guard: RequestHandler[];
  /** The token service's `client` profile: the one-object credential that checks an oss upload. */
  credentials: TenantCredentials;
  /** Where oss uploads land (OSS_ENDPOINT, OSS_PATH_STYLE). */
  oss: { endpoint: string; pathStyle?: boolean; region: string };
}

/** Default and bounds of a client token's life. */
export const UPLOAD_TTL = { default: 3600, min: 60, max: 24 * 3600 };

export const uploadBody = z.strictObject({
  target: jobRequestSchema.shape.target,
  /** Largest object the client may upload. */
  maxBytes: z
    .number()
    .int()
    .positive()
    .max(5 * 1024 ** 4)
    .optional(),
  /** The browser origin (one of the tenant's `origins`) the client token is bound to. */
  origin: z.string().min(1).max(255).optional(),
  expiresInSeconds: z.number().int().min(UPLOAD_TTL.min).max(UPLOAD_TTL.max).optional(),
  callbackUrl: z.string().min(1).max(2048).optional(),
  metadata: jobRequestSchema.shape.metadata,
});

const uploadNotFound = () => new NotFoundError('No such upload', 'UPLOAD_NOT_FOUND');

const noStore: RequestHandler = (_req, res, next) => {
  res.set('cache-control', 'no-store');
  next();
};

/** The upload a caller may see: its tenant's (API key), or the one its client token opens. */
export async function uploadOf(deps: Pick<UploadRoutesDeps, 'uploads'>, res: Parameters<RequestHandler>[1], id: string): Promise<UploadRecord> {
  const caller = callerOf(res);
  if (caller.upload) {
    if (caller.upload.id !== id) throw uploadNotFound();
    return (await redisCall(deps.uploads.get(id))) ?? caller.upload;
  }
  const upload = await redisCall(deps.uploads.getForTenant(caller.tenant, id));
  if (!upload) throw uploadNotFound();
  return upload;
}

/**
 * Direct uploads (as Mux's and Cloudflare Stream's): the tenant's backend creates one with its API
 * key and hands the short-lived client token to a browser or app, which uploads with Alibaba's
 * SDK through the client endpoints and can reach that one upload only.
 */
export function uploadRoutes(deps: UploadRoutesDeps): Router {
  const router = Router();

  router.post(
    '/v1/uploads',
    noStore,
    apiKeyOnly,
    route(async (req, res) => {
      const { tenant } = callerOf(res);
      const body = validate(uploadBody, jsonBody(req), 'Upload request is invalid');
      const t = deps.tenants.get(tenant);
      checkJobTarget(t, body.target);
      if (body.origin !== undefined && !t.origins.includes(body.origin)) {
        const message = `origin must be one of tenant ${tenant}'s origins`;
        throw new AppError('ORIGIN_NOT_ALLOWED', message, { status: 403, details: [{ field: 'origin', message }] });
      }
      if (body.callbackUrl !== undefined) await checkCallbackUrl(body.callbackUrl, deps.policy);
      const { expiresInSeconds = UPLOAD_TTL.default, ...request } = body;
      const { upload, clientToken } = await redisCall(deps.uploads.create(tenant, { ...request, metadata: request.metadata ?? {} }, expiresInSeconds));
      deps.log.info({ tenant, uploadId: upload.id, target: upload.target.type }, 'UploadCreated');
      res
        .status(201)
        .location(`/v1/uploads/${upload.id}`)
        .json({ ...uploadView(upload), clientToken });
    }),
  );

  router.get(
    '/v1/uploads/:id',
    noStore,
    ...deps.guard,
    route(async (req, res) => {
      res.json(uploadView(await uploadOf(deps, res, String(req.params.id))));
    }),
  );

  // An oss upload has no VOD to report it: the client (or the backend) says it is done, and the
  // object itself is checked — it exists, within maxBytes — before upload.completed.
  router.post(
    '/v1/uploads/:id/complete',
    noStore,
    ...deps.guard,
    route(async (req, res) => {
      const upload = await uploadOf(deps, res, String(req.params.id));
      const t = upload.target;
      if (t.type !== 'oss') throw new AppError('UPLOAD_NOT_OSS', "VOD reports a vod upload's completion itself", { status: 409 });
      if (upload.status === 'created' || upload.status === 'uploading') {
        const credentials = deps.credentials.forScope(upload.tenant, `object:${t.bucket}/${t.key}`);
        const store = new AliOssStore({ ...deps.oss, bucket: t.bucket, credentials });
        const object = await store.head(t.key);
        if (!object) throw new AppError('UPLOAD_INCOMPLETE', `Nothing is stored at ${t.bucket}/${t.key} yet`, { status: 409 });
        if (upload.maxBytes !== undefined && object.size > upload.maxBytes) {
          await deps.uploads.failed(upload.id, {
            code: 'UPLOAD_TOO_LARGE',
            message: `The object is ${object.size} bytes; the upload allowed ${upload.maxBytes}`,
            retryable: false,
          });
        } else {
          await deps.uploads.completed(upload.id, { bucket: t.bucket, key: t.key, size: object.size }, true);
        }
        deps.log.info({ tenant: upload.tenant, uploadId: upload.id, size: object.size }, 'UploadCompleted');
      }
      res.json(uploadView((await redisCall(deps.uploads.get(upload.id)))!));
    }),
  );

  return router;
}
