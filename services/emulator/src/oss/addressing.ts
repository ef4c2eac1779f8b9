import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { CloudError } from '../errors.js';
import { parseRawQuery } from '../http-util.js';
import type { SignedTarget } from './signature.js';

/** An OSS request as the front end sees it: operation, bucket, key and query, however addressed. */
export interface OssRequest extends SignedTarget {
  action: string;
  params: Map<string, string | null>;
  /** True when the bucket came from the Host (`<bucket>.<endpoint>`), not the path. */
  virtualHosted: boolean;
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

/** The name in a Host header, without port or IPv6 brackets. */
function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(1, Math.max(1, host.indexOf(']')));
  const colon = host.lastIndexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
}

/**
 * The bucket a Host names in virtual-hosted style, `<bucket>.<endpoint>` with `<bucket>` an
 * existing bucket — what ali-oss sends without `sldEnable` (and Chromium resolves
 * `*.localhost` to loopback). IP literals and one-label names (`localhost`, a compose service
 * name) are endpoints addressed path-style, as ali-oss itself treats an IP endpoint.
 */
export function bucketOfHost(host: string | undefined, hasBucket: (bucket: string) => boolean): string | undefined {
  if (!host) return undefined;
  const name = hostName(host);
  if (isIP(name)) return undefined;
  const dot = name.indexOf('.');
  if (dot <= 0) return undefined;
  const label = name.slice(0, dot);
  return hasBucket(label) ? label : undefined;
}

export function parseOssRequest(req: IncomingMessage, hasBucket: (bucket: string) => boolean = () => false): OssRequest {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  const query = parseRawQuery(q < 0 ? '' : raw.slice(q));
  const decoded = decodePath(rawPath);
  const hostBucket = bucketOfHost(req.headers.host, hasBucket);
  let bucket: string | undefined;
  let key: string | undefined;
  if (hostBucket) {
    bucket = hostBucket;
    key = decoded.slice(1) || undefined;
  } else {
    const slash = decoded.indexOf('/', 1);
    bucket = slash < 0 ? decoded.slice(1) || undefined : decoded.slice(1, slash);
    key = slash < 0 ? undefined : decoded.slice(slash + 1) || undefined;
  }
  const params = new Map(query.map((p) => [p.key, p.value]));
  const method = (req.method ?? 'GET').toUpperCase();
  return { method, bucket, key, query, params, action: classify(method, bucket, key, params), virtualHosted: hostBucket !== undefined };
}

/** The object's URL in the addressing style the client used (for Location and VOD's FileUrl). */
export function objectUrl(req: IncomingMessage, r: OssRequest): string {
  const host = req.headers.host ?? 'localhost';
  const key = (r.key ?? '').split('/').map(encodeURIComponent).join('/');
  return r.virtualHosted ? `http://${host}/${key}` : `http://${host}/${r.bucket}/${key}`;
}

function decodePath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    throw new CloudError(400, 'InvalidURI', "Couldn't parse the specified URI.");
  }
}
