import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@vod-ingest/shared';
import { OSS_EXPOSED_HEADERS, type CorsPolicy } from '../cors.js';
import { type CredentialAuthority, KeyError, ossKeyError, type ResolvedKey } from '../credentials.js';
import { CloudError } from '../errors.js';
import { applyFaults, type FaultInjector } from '../faults.js';
import { drain, readSmallBody } from '../http-util.js';
import { objectUrl, parseOssRequest, type OssRequest } from './addressing.js';
import { authorizeOss } from './authorize.js';
import { getObject, listParts, objectHeaders, requireParam } from './reads.js';
import { newRequestId, sendXml } from './reply.js';
import { checkRequestTime, parseOssAuthorization, verifyOssSignature } from './signature.js';
import type { ObjectMeta, OssStore } from './store.js';
import { parseCompleteBody, toXml } from './xml.js';

export interface OssDeps {
  store: OssStore;
  authority: CredentialAuthority;
  faults: FaultInjector;
  log: Logger;
  hostId: string;
  /** The emulated region: the region field of the resource names session policies match. */
  region: string;
  /** The bucket CORS rule (every bucket shares it). */
  cors: CorsPolicy;
  /**
   * Told of every object that became complete (PutObject, CompleteMultipartUpload) before the
   * client hears of it, so what it records (a VOD video's status) is visible once the client is
   * answered. Its failures are logged, never the upload's.
   */
  onObjectComplete?: (object: CompletedObject) => Promise<void>;
}

/** An object that has just become complete. */
export interface CompletedObject {
  bucket: string;
  key: string;
  size: number;
  /** The object's URL as the client addressed it. */
  url: string;
}

/** Serves one OSS request: faults, authentication, then the operation. */
export async function handleOss(req: IncomingMessage, res: ServerResponse, deps: OssDeps): Promise<void> {
  const requestId = newRequestId();
  res.setHeader('x-oss-request-id', requestId);
  res.setHeader('server', 'AliyunOSS');
  res.setHeader('date', new Date().toUTCString());
  deps.cors.applyToAnswer(req, res, OSS_EXPOSED_HEADERS);
  let action = 'Unknown';
  try {
    const r = parseOssRequest(req, (b) => deps.store.hasBucket(b));
    action = r.action;
    if (await applyFaults(deps.faults, action, req, (s) => ({ 'retry-after': String(s) }))) return;
    const key = authenticate(req, r, deps.authority);
    authorizeOss(key, r, deps.region);
    await execute(req, res, r, key, deps);
  } catch (err) {
    drain(req);
    sendError(req, res, err, requestId, deps, action);
  }
}

function authenticate(req: IncomingMessage, r: OssRequest, authority: CredentialAuthority): ResolvedKey {
  const auth = parseOssAuthorization(req.headers.authorization);
  if (!auth) throw new CloudError(403, 'AccessDenied', 'You have no right to access this object because of bucket acl.');
  checkRequestTime(req, auth);
  const token = req.headers['x-oss-security-token'];
  let key: ResolvedKey;
  try {
    key = authority.resolve(auth.accessKeyId, Array.isArray(token) ? token[0] : token);
  } catch (err) {
    if (err instanceof KeyError) throw ossKeyError(err);
    throw err;
  }
  verifyOssSignature(req, r, auth, key.secret);
  if (key.scope && (key.scope.bucket !== r.bucket || key.scope.key !== r.key)) {
    throw new CloudError(403, 'AccessDenied', 'You have no right to access this object.');
  }
  return key;
}

function userMetaOf(req: IncomingMessage): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (k.startsWith('x-oss-meta-') && typeof v === 'string') meta[k.slice('x-oss-meta-'.length)] = v;
  }
  return meta;
}

async function execute(req: IncomingMessage, res: ServerResponse, r: OssRequest, _key: ResolvedKey, deps: OssDeps): Promise<void> {
  const { store } = deps;
  const bucket = r.bucket!;
  const objectKey = r.key!;
  const contentMd5 = typeof req.headers['content-md5'] === 'string' ? req.headers['content-md5'] : undefined;
  switch (r.action) {
    case 'PutObject': {
      if (req.headers['x-oss-copy-source']) throw notImplemented('CopyObject');
      const meta = await store.putObject(bucket, objectKey, req, {
        contentType: req.headers['content-type'] ?? 'application/octet-stream',
        userMeta: userMetaOf(req),
        contentMd5,
      });
      await announce(req, r, meta, deps);
      res.writeHead(200, { etag: meta.etag, 'x-oss-hash-crc64ecma': meta.crc64, 'content-length': 0 });
      res.end();
      return;
    }
    case 'HeadObject': {
      const meta = await store.headObject(bucket, objectKey);
      res.writeHead(200, { ...objectHeaders(meta), 'content-length': meta.size });
      res.end();
      return;
    }
    case 'GetObject':
      return getObject(req, res, r, store);
    case 'DeleteObject':
      await store.deleteObject(bucket, objectKey);
      res.writeHead(204);
      res.end();
      return;
    case 'InitiateMultipartUpload': {
      const uploadId = await store.initiateUpload(bucket, objectKey, req.headers['content-type'] ?? 'application/octet-stream', userMetaOf(req));
      drain(req);
      sendXml(res, 200, toXml('InitiateMultipartUploadResult', { Bucket: bucket, Key: objectKey, UploadId: uploadId }));
      return;
    }
    case 'UploadPart': {
      const part = await store.uploadPart(bucket, objectKey, requireParam(r, 'uploadId'), Number(r.params.get('partNumber')), req, contentMd5);
      res.writeHead(200, { etag: part.etag, 'x-oss-hash-crc64ecma': part.crc64, 'content-length': 0 });
      res.end();
      return;
    }
    case 'CompleteMultipartUpload': {
      const body = (await readSmallBody(req, 4 * 1024 * 1024)).toString('utf8');
      const parts = parseCompleteBody(body);
      if (!parts) throw new CloudError(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
      const meta = await store.completeUpload(bucket, objectKey, requireParam(r, 'uploadId'), parts);
      await announce(req, r, meta, deps);
      const xml = toXml('CompleteMultipartUploadResult', {
        EncodingType: undefined,
        Location: objectUrl(req, r),
        Bucket: bucket,
        Key: objectKey,
        ETag: meta.etag,
      });
      sendXml(res, 200, xml, { etag: meta.etag, 'x-oss-hash-crc64ecma': meta.crc64 });
      return;
    }
    case 'AbortMultipartUpload':
      await store.abortUpload(bucket, objectKey, requireParam(r, 'uploadId'));
      drain(req);
      res.writeHead(204);
      res.end();
      return;
    case 'ListParts':
      return listParts(res, r, store);
    default:
      throw notImplemented(r.action);
  }
}

async function announce(req: IncomingMessage, r: OssRequest, meta: ObjectMeta, deps: OssDeps): Promise<void> {
  if (!deps.onObjectComplete) return;
  try {
    await deps.onObjectComplete({ bucket: meta.bucket, key: meta.key, size: meta.size, url: objectUrl(req, r) });
  } catch (err) {
    deps.log.error({ err, bucket: meta.bucket, key: meta.key }, 'ObjectCompleteHookFailed');
  }
}

function notImplemented(what: string): CloudError {
  return new CloudError(501, 'NotImplemented', `${what} is not implemented by the vod-ingest emulator.`);
}

function sendError(req: IncomingMessage, res: ServerResponse, err: unknown, requestId: string, deps: OssDeps, action: string): void {
  const e = err instanceof CloudError ? err : new CloudError(500, 'InternalError', 'We encountered an internal error. Please try again.');
  if (!(err instanceof CloudError)) deps.log.error({ err, action }, 'OssInternalError');
  else deps.log.debug({ action, code: e.code, status: e.status }, 'OssRequestRejected');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const ec = e.extra.EC ?? '0000-00000000';
  const xml = toXml('Error', { Code: e.code, Message: e.message, RequestId: requestId, HostId: deps.hostId, ...e.extra, EC: ec });
  const extraHeaders = e.headers;
  if (req.method === 'HEAD') {
    res.writeHead(e.status, { 'x-oss-err': Buffer.from(xml).toString('base64'), 'x-oss-ec': ec, ...extraHeaders });
    res.end();
    return;
  }
  sendXml(res, e.status, xml, { 'x-oss-ec': ec, ...extraHeaders });
}
