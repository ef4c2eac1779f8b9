import { Router, type RequestHandler } from 'express';
import {
  checkVodUse,
  NotFoundError,
  ValidationError,
  route,
  validate,
  withCredential,
  type Logger,
  type TenantCredentials,
  type Tenants,
  type VodApi,
  type VodUploadTicket,
} from '@vod-ingest/shared';
import { callerOf } from './api-keys.js';
import { jsonBody } from './json-body.js';
import { toCreateUploadVideoParams, uploadAuthBody, VIDEO_ID } from './upload-auth.schema.js';
import type { VideoOwners } from './video-owners.js';

export interface CredentialRoutesDeps {
  log: Logger;
  /** The `client` profile of the token service, scoped per tenant. */
  credentials: TenantCredentials;
  tenants: Tenants;
  vod: VodApi;
  owners: VideoOwners;
  /** Runs before each route (rate limiting). */
  limit: RequestHandler;
}

const noStore: RequestHandler = (_req, res, next) => {
  res.set('cache-control', 'no-store');
  next();
};

const videoNotFound = () => new NotFoundError('No such video', 'VIDEO_NOT_FOUND');

function notFoundFromVod(err: unknown): never {
  if ((err as { code?: unknown }).code === 'InvalidVideo.NotFound') throw videoNotFound();
  throw err;
}

/** The reply of both upload-auth routes: VOD's own fields, base64 strings exactly as VOD sent them. */
const uploadAuthReply = (t: VodUploadTicket) => ({
  VideoId: t.videoId,
  UploadAddress: t.raw.uploadAddress,
  UploadAuth: t.raw.uploadAuth,
  RequestId: t.requestId,
});

/**
 * Credentials for client apps that upload with Alibaba's SDKs: `POST /v1/sts-tokens`,
 * `POST /v1/vod/upload-auth` and `POST /v1/vod/upload-auth/:videoId/refresh`. Use after
 * `requireApiKey`. Logs carry the tenant and VideoId, never a secret or a body.
 * Paths are full and the router is mounted at the root: a router mounted at `/v1` loses its
 * `baseUrl` when a route fails, which would split one route's metrics over two labels.
 */
export function credentialRoutes(deps: CredentialRoutesDeps): Router {
  const { log, vod, owners } = deps;
  const credentials = (tenant: string) => deps.credentials.forTenant(tenant);
  const router = Router();
  const guard = [noStore, deps.limit];

  router.post('/v1/sts-tokens', ...guard, route(async (_req, res) => {
    const { tenant } = callerOf(res);
    // Scoped by the tenant's session policy: its OSS places and, if it has VOD, the upload flow only.
    const c = await credentials(tenant).get();
    log.info({ tenant }, 'StsTokenIssued');
    res.json({ AccessKeyId: c.accessKeyId, AccessKeySecret: c.accessKeySecret, SecurityToken: c.securityToken, Expiration: c.expiration, Region: c.region });
  }));

  router.post('/v1/vod/upload-auth', ...guard, route(async (req, res) => {
    const { tenant } = callerOf(res);
    const body = validate(uploadAuthBody, jsonBody(req), 'Upload request is invalid');
    checkVodUse(deps.tenants.get(tenant), body);
    const params = toCreateUploadVideoParams(body);
    const ticket = await withCredential(credentials(tenant), (c) => vod.createUploadVideo(c, params));
    await owners.record(ticket.videoId, tenant);
    log.info({ tenant, videoId: ticket.videoId }, 'UploadAuthCreated');
    res.json(uploadAuthReply(ticket));
  }));

  router.post('/v1/vod/upload-auth/:videoId/refresh', ...guard, route(async (req, res) => {
    const { tenant } = callerOf(res);
    const videoId = String(req.params.videoId);
    if (!VIDEO_ID.test(videoId)) throw new ValidationError('videoId is invalid', [{ field: 'videoId', message: '1-64 of A-Z a-z 0-9' }]);
    checkVodUse(deps.tenants.get(tenant), {});
    // Another tenant's video is as absent as one that does not exist.
    if (!(await owners.isOwner(videoId, tenant))) throw videoNotFound();
    const ticket = await withCredential(credentials(tenant), (c) => vod.refreshUploadVideo(c, videoId)).catch(notFoundFromVod);
    log.info({ tenant, videoId }, 'UploadAuthRefreshed');
    res.json(uploadAuthReply(ticket));
  }));

  return router;
}
