import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@vod-ingest/shared';
import { CredentialAuthority, KeyError, ossKeyError, type ResolvedKey } from '../credentials.js';
import { CloudError } from '../errors.js';
import { applyFaults, type FaultInjector } from '../faults.js';
import { drain, parseRawQuery, readSmallBody } from '../http-util.js';
import { authorizeOss } from './authorize.js';
import { checkRequestTime, parseOssAuthorization, verifyOssSignature, type SignedTarget } from './signature.js';
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
}

interface OssRequest extends SignedTarget {
  action: string;
  params: Map<string, string | null>;
}

/** Names the OSS operation a request is, as the cloud's docs and our counters call it. */
function classify(method: string, bucket: string | undefined, key: string | undefined, params: Map<string, string | null>): string {
  if (!bucket) return 'ListBuckets';
  if (!key) return method === 'GET' ? 'ListObjects' : `Bucket${method}`;
  switch (method) {
    case 'PUT':
      return params.has('uploadId') && params.has('partNumber') ? 'UploadPart' : 'PutObject';
    case 'GET':
      return params.has('uploadId') ? 'ListParts' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'DELETE':
      return params.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
    case 'POST':
      if (params.has('uploads')) return 'InitiateMultipartUpload';
      if (params.has('uploadId')) return 'CompleteMultipartUpload';
      return 'PostObject';
    default:
      return `Object${method}`;
  }
}

export function parseOssRequest(req: IncomingMessage): OssRequest {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  const query = parseRawQuery(q < 0 ? '' : raw.slice(q));
  const decoded = decodePath(rawPath);
  const slash = decoded.indexOf('/', 1);
  const bucket = slash < 0 ? decoded.slice(1) || undefined : decoded.slice(1, slash);
  const key = slash < 0 ? undefined : decoded.slice(slash + 1) || undefined;
  const params = new Map(query.map((p) => [p.key, p.value]));
  const method = (req.method ?? 'GET').toUpperCase();
  return { method, bucket, key, query, params, action: classify(method, bucket, key, params) };
}

function decodePath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new CloudError(400, 'InvalidURI', 'Couldn\'t parse the specified URI.');
  }
}

function newRequestId(): string {
  return Array.from({ length: 24 }, () => '0123456789ABCDEF'[Math.floor(Math.random() * 16)]).join('');
}

/** Serves one OSS request: faults, authentication, then the operation. */
export async function handleOss(req: IncomingMessage, res: ServerResponse, deps: OssDeps): Promise<void> {
  const requestId = newRequestId();
  res.setHeader('x-oss-request-id', requestId);
  res.setHeader('server', 'AliyunOSS');
  res.setHeader('date', new Date().toUTCString());
  let action = 'Unknown';
  try {
    const r = parseOssRequest(req);
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

function objectHeaders(meta: ObjectMeta): Record<string, string> {
  const h: Record<string, string> = {
    etag: meta.etag,
    'x-oss-hash-crc64ecma': meta.crc64,
    'content-type': meta.contentType,
    'last-modified': meta.lastModified,
    'x-oss-object-type': meta.objectType,
    'x-oss-storage-class': 'Standard',
    'accept-ranges': 'bytes',
  };
  for (const [k, v] of Object.entries(meta.userMeta)) h[`x-oss-meta-${k}`] = v;
  return h;
}

function requireParam(r: OssRequest, name: string): string {
  const v = r.params.get(name);
  if (!v) throw new CloudError(400, 'InvalidArgument', `Missing or empty ${name}.`, { ArgumentName: name });
  return v;
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
      const xml = toXml('CompleteMultipartUploadResult', {
        EncodingType: undefined,
        Location: `${req.headers.host ? `http://${req.headers.host}` : ''}/${bucket}/${objectKey}`,
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

async function getObject(req: IncomingMessage, res: ServerResponse, r: OssRequest, store: OssStore): Promise<void> {
  const meta = await store.headObject(r.bucket!, r.key!);
  const range = parseRange(req.headers.range, meta.size);
  const headers = objectHeaders(meta);
  if (range) {
    res.writeHead(206, { ...headers, 'content-length': range.end - range.start + 1, 'content-range': `bytes ${range.start}-${range.end}/${meta.size}` });
  } else {
    res.writeHead(200, { ...headers, 'content-length': meta.size });
  }
  if (meta.size === 0) {
    res.end();
    return;
  }
  const stream = store.readObject(r.bucket!, r.key!, range);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/**
 * A single `bytes=a-b` range. Like OSS, a syntactically invalid range is ignored (whole object);
 * one that starts past the end is 416 InvalidRange.
 */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return undefined;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) {
    throw new CloudError(416, 'InvalidRange', 'The requested range cannot be satisfied.', { RangeRequested: header, ActualObjectSize: String(size) });
  }
  return { start, end };
}

async function listParts(res: ServerResponse, r: OssRequest, store: OssStore): Promise<void> {
  const uploadId = requireParam(r, 'uploadId');
  const all = await store.listParts(r.bucket!, r.key!, uploadId);
  const maxParts = Math.min(Number(r.params.get('max-parts') ?? 1000) || 1000, 1000);
  const marker = Number(r.params.get('part-number-marker') ?? 0) || 0;
  const after = all.filter((p) => p.partNumber > marker);
  const page = after.slice(0, maxParts);
  const truncated = after.length > page.length;
  sendXml(
    res,
    200,
    toXml('ListPartsResult', {
      Bucket: r.bucket!,
      Key: r.key!,
      UploadId: uploadId,
      PartNumberMarker: marker,
      NextPartNumberMarker: page.length ? page[page.length - 1].partNumber : marker,
      MaxParts: maxParts,
      IsTruncated: truncated,
      Part: page.map((p) => ({
        PartNumber: p.partNumber,
        LastModified: p.lastModified,
        ETag: p.etag,
        HashCrc64ecma: p.crc64,
        Size: p.size,
      })),
    }),
  );
}

function notImplemented(what: string): CloudError {
  return new CloudError(501, 'NotImplemented', `${what} is not implemented by the vod-ingest emulator.`);
}

function sendXml(res: ServerResponse, status: number, xml: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(xml);
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': body.length, ...headers });
  res.end(body);
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
