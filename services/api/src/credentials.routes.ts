import { Router, type RequestHandler } from 'express';
import {
  AppError,
  checkVodUse,
  NotFoundError,
  ValidationError,
  route,
  validate,
  withCredential,
  type Logger,
  type TenantCredentials,
  type Tenants,
  type UploadRecord,
  type UploadStore,
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
  /** CORS for browsers (after authentication). */
  cors: RequestHandler;
  /** Direct uploads: a client token's upload. */
  uploads: UploadStore;
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
  const guard = [noStore, deps.cors, deps.limit];

  router.post(
    '/v1/sts-tokens',
    ...guard,
    route(async (_req, res) => {
      const { tenant, upload } = callerOf(res);
      // Scoped by the tenant's session policy: its OSS places and, if it has VOD, the upload flow only;
      // for a client token, narrower still: its one object, or VOD's upload flow (the SDK's STS mode).
      const source = upload ? deps.credentials.forScope(tenant, scopeOf(openUpload(upload))) : credentials(tenant);
      const c = await source.get();
      if (upload) await deps.uploads.uploading(upload.id);
      log.info({ tenant, uploadId: upload?.id }, 'StsTokenIssued');
      res.json({ AccessKeyId: c.accessKeyId, AccessKeySecret: c.accessKeySecret, SecurityToken: c.securityToken, Expiration: c.expiration, Region: c.region });
    }),
  );

  router.post(
    '/v1/vod/upload-auth',
    ...guard,
    route(async (req, res) => {
      const { tenant, upload } = callerOf(res);
      if (upload) return void res.json(uploadAuthReply(await directUploadAuth(deps, openUpload(upload), jsonBody(req) ?? {})));
      const body = validate(uploadAuthBody, jsonBody(req), 'Upload request is invalid');
      checkVodUse(deps.tenants.get(tenant), body);
      const params = toCreateUploadVideoParams(body);
      const ticket = await withCredential(credentials(tenant), (c) => vod.createUploadVideo(c, params));
      await owners.record(ticket.videoId, tenant);
      log.info({ tenant, videoId: ticket.videoId }, 'UploadAuthCreated');
      res.json(uploadAuthReply(ticket));
    }),
  );

  router.post(
    '/v1/vod/upload-auth/:videoId/refresh',
    ...guard,
    route(async (req, res) => {
      const { tenant } = callerOf(res);
      const videoId = String(req.params.videoId);
      if (!VIDEO_ID.test(videoId)) throw new ValidationError('videoId is invalid', [{ field: 'videoId', message: '1-64 of A-Z a-z 0-9' }]);
      checkVodUse(deps.tenants.get(tenant), {});
      const { upload } = callerOf(res);
      // Another tenant's video (or, for a client token, any video but its upload's) is as absent as one that does not exist.
      if (upload ? upload.videoId !== videoId : !(await owners.isOwner(videoId, tenant))) throw videoNotFound();
      const ticket = await withCredential(credentials(tenant), (c) => vod.refreshUploadVideo(c, videoId)).catch(notFoundFromVod);
      log.info({ tenant, videoId }, 'UploadAuthRefreshed');
      res.json(uploadAuthReply(ticket));
    }),
  );

  return router;
}

/** A client token's upload, while it may still upload (409 once it has). */
function openUpload(upload: UploadRecord): UploadRecord {
  if (upload.status !== 'created' && upload.status !== 'uploading') {
    throw new AppError('UPLOAD_FINISHED', `The upload is already ${upload.status}`, { status: 409 });
  }
  return upload;
}

/** The token service scope of a client token's STS credential: its one object, or VOD's upload flow. */
function scopeOf(upload: UploadRecord): string {
  const t = upload.target;
  return t.type === 'oss' ? `object:${t.bucket}/${t.key}` : 'vod';
}

/** What a client may add to its upload's own fields when asking for UploadAuth: the file's name and size. */
export const directUploadAuthBody = uploadAuthBody.partial().pick({ fileName: true, fileSize: true }).passthrough();

/**
 * UploadAuth for a direct upload to VOD: CreateUploadVideo with the upload's fields the first time
 * (one video per upload, even when two calls race), RefreshUploadVideo of that video after.
 */
async function directUploadAuth(deps: CredentialRoutesDeps, upload: UploadRecord, raw: unknown): Promise<VodUploadTicket> {
  if (upload.target.type !== 'vod') throw new AppError('UPLOAD_NOT_VOD', 'This upload goes to OSS: use /v1/sts-tokens', { status: 409 });
  const credentials = deps.credentials.forTenant(upload.tenant);
  if (upload.videoId) return withCredential(credentials, (c) => deps.vod.refreshUploadVideo(c, upload.videoId!));
  const body = validate(directUploadAuthBody, raw ?? {}, 'Upload request is invalid');
  const fileName = upload.target.fileName ?? body.fileName;
  if (!fileName) throw new ValidationError('fileName is required', [{ field: 'fileName', message: 'the upload names no file: send the file name' }]);
  if (upload.maxBytes !== undefined && body.fileSize !== undefined && body.fileSize > upload.maxBytes) {
    throw new AppError('UPLOAD_TOO_LARGE', `The file is larger than this upload allows (${upload.maxBytes} bytes)`, { status: 413 });
  }
  const { type: _type, ...fields } = upload.target;
  const ticket = await withCredential(credentials, (c) =>
    deps.vod.createUploadVideo(c, toCreateUploadVideoParams({ ...fields, fileName, fileSize: body.fileSize })),
  );
  if (!(await deps.uploads.bindVideo(upload.id, ticket.videoId))) {
    // Another call created the upload's video first: this one is an orphan; use that one.
    const bound = (await deps.uploads.get(upload.id))!.videoId!;
    deps.log.warn({ uploadId: upload.id, orphan: ticket.videoId, videoId: bound }, 'UploadVideoRaced');
    return withCredential(credentials, (c) => deps.vod.refreshUploadVideo(c, bound));
  }
  await deps.owners.record(ticket.videoId, upload.tenant);
  deps.log.info({ tenant: upload.tenant, uploadId: upload.id, videoId: ticket.videoId }, 'UploadAuthCreated');
  return ticket;
}
