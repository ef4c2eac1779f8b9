import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { safeEqual } from '@vod-ingest/shared';
import { CloudError } from '../errors.js';
import { rfc3986Encode } from '../http-util.js';

/** How far a request's date may be from ours (OSS: 15 minutes). */
export const MAX_SKEW_MS = 15 * 60 * 1000;

/**
 * Sub-resources that OSS V1 signs into CanonicalizedResource; other query parameters
 * (max-parts, part-number-marker, prefix, ...) are not signed.
 */
const V1_SUBRESOURCES = new Set([
  'acl',
  'uploads',
  'location',
  'cors',
  'logging',
  'website',
  'referer',
  'lifecycle',
  'delete',
  'append',
  'tagging',
  'objectMeta',
  'uploadId',
  'partNumber',
  'security-token',
  'position',
  'img',
  'style',
  'styleName',
  'replication',
  'replicationProgress',
  'replicationLocation',
  'cname',
  'bucketInfo',
  'comp',
  'qos',
  'live',
  'status',
  'vod',
  'startTime',
  'endTime',
  'symlink',
  'x-oss-process',
  'response-content-type',
  'response-content-language',
  'response-expires',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'udf',
  'udfName',
  'udfImage',
  'udfId',
  'udfImageDesc',
  'udfApplication',
  'udfApplicationLog',
  'restore',
  'callback',
  'callback-var',
  'policy',
  'encryption',
  'versions',
  'versioning',
  'versionId',
  'sequential',
  'continuation-token',
  'regionList',
  'cloudboxes',
  'x-oss-traffic-limit',
]);

/** The parsed `Authorization` header of an OSS request. */
export type OssAuth =
  | { version: 1; accessKeyId: string; signature: string }
  | { version: 4; accessKeyId: string; date: string; region: string; additionalHeaders: string[]; signature: string };

export function parseOssAuthorization(value: string | undefined): OssAuth | undefined {
  if (!value) return undefined;
  if (value.startsWith('OSS ')) {
    const rest = value.slice(4);
    const colon = rest.lastIndexOf(':');
    if (colon <= 0) throw invalidAuth();
    return { version: 1, accessKeyId: rest.slice(0, colon), signature: rest.slice(colon + 1) };
  }
  if (value.startsWith('OSS4-HMAC-SHA256 ')) {
    const fields = new Map<string, string>();
    for (const part of value.slice('OSS4-HMAC-SHA256 '.length).split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const cred = (fields.get('Credential') ?? '').split('/');
    const signature = fields.get('Signature');
    if (cred.length !== 5 || cred[3] !== 'oss' || cred[4] !== 'aliyun_v4_request' || !signature) throw invalidAuth();
    const extra = fields.get('AdditionalHeaders');
    return {
      version: 4,
      accessKeyId: cred[0],
      date: cred[1],
      region: cred[2],
      additionalHeaders: extra ? extra.split(';').map((h) => h.toLowerCase()) : [],
      signature,
    };
  }
  throw invalidAuth();
}

function invalidAuth(): CloudError {
  return new CloudError(400, 'InvalidArgument', 'Authorization header is invalid.', { ArgumentName: 'Authorization' });
}

/** The request time the signature covers, checked against our clock. */
export function checkRequestTime(req: IncomingMessage, auth: OssAuth, now = Date.now()): void {
  const raw = headerValue(req, 'x-oss-date') ?? headerValue(req, 'date');
  if (!raw) throw new CloudError(403, 'AccessDenied', 'Missing date header.');
  const t = auth.version === 4 ? parseIsoBasic(raw) : Date.parse(raw);
  if (Number.isNaN(t)) throw new CloudError(403, 'AccessDenied', `Invalid date: ${raw}`);
  if (Math.abs(now - t) > MAX_SKEW_MS) {
    throw new CloudError(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
      RequestTime: new Date(t).toISOString(),
      ServerTime: new Date(now).toISOString(),
      MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
    });
  }
}

function parseIsoBasic(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

function ossHeaders(req: IncomingMessage): Array<[string, string]> {
  return Object.keys(req.headers)
    .filter((k) => k.startsWith('x-oss-'))
    .sort()
    .map((k) => [k, (headerValue(req, k) ?? '').trim()]);
}

/** What a request looks like to the signer: decoded bucket, key and query. */
export interface SignedTarget {
  method: string;
  bucket?: string;
  key?: string;
  query: Array<{ key: string; value: string | null }>;
}

/** V1 string to sign, exactly as ali-oss's `buildCanonicalString` makes it. */
export function v1StringToSign(req: IncomingMessage, target: SignedTarget): string {
  let resource = '/';
  if (target.bucket) resource += `${target.bucket}/`;
  if (target.key) resource += target.key;
  const sub = target.query.filter((q) => V1_SUBRESOURCES.has(q.key)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  if (sub.length) resource += `?${sub.map((q) => (q.value ? `${q.key}=${q.value}` : q.key)).join('&')}`;
  const date = headerValue(req, 'x-oss-date') ?? headerValue(req, 'date') ?? '';
  return [
    target.method,
    headerValue(req, 'content-md5') ?? '',
    headerValue(req, 'content-type') ?? '',
    date,
    ...ossHeaders(req).map(([k, v]) => `${k}:${v}`),
    resource,
  ].join('\n');
}

/** V4 canonical request, as ali-oss's `getCanonicalRequest` makes it. */
export function v4CanonicalRequest(req: IncomingMessage, target: SignedTarget, additionalHeaders: string[]): string {
  const uri = rfc3986Encode(`/${target.bucket ? `${target.bucket}/` : ''}${target.key ?? ''}`).replace(/%2F/g, '/');
  const query = [...target.query]
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((q) => (q.value === null || q.value === '' ? rfc3986Encode(q.key) : `${rfc3986Encode(q.key)}=${rfc3986Encode(q.value)}`))
    .join('&');
  const names = new Set(additionalHeaders);
  for (const k of Object.keys(req.headers)) {
    if (k === 'content-type' || k === 'content-md5' || k.startsWith('x-oss-')) names.add(k);
  }
  const headers = [...names]
    .sort()
    .map((k) => `${k}:${(headerValue(req, k) ?? '').trim()}\n`)
    .join('');
  return [target.method, uri, query, headers, additionalHeaders.join(';'), headerValue(req, 'x-oss-content-sha256') ?? 'UNSIGNED-PAYLOAD'].join('\n');
}

export function v4StringToSign(req: IncomingMessage, auth: Extract<OssAuth, { version: 4 }>, canonical: string): string {
  return [
    'OSS4-HMAC-SHA256',
    headerValue(req, 'x-oss-date') ?? '',
    `${auth.date}/${auth.region}/oss/aliyun_v4_request`,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
}

function v4Signature(secret: string, auth: Extract<OssAuth, { version: 4 }>, stringToSign: string): string {
  const kDate = createHmac('sha256', `aliyun_v4${secret}`).update(auth.date).digest();
  const kRegion = createHmac('sha256', kDate).update(auth.region).digest();
  const kService = createHmac('sha256', kRegion).update('oss').digest();
  const kSigning = createHmac('sha256', kService).update('aliyun_v4_request').digest();
  return createHmac('sha256', kSigning).update(stringToSign).digest('hex');
}

/** Throws `SignatureDoesNotMatch` (with the server's string to sign, as OSS does) unless it matches. */
export function verifyOssSignature(req: IncomingMessage, target: SignedTarget, auth: OssAuth, secret: string): void {
  if (auth.version === 1) {
    const sts = v1StringToSign(req, target);
    const expected = createHmac('sha1', secret).update(Buffer.from(sts, 'utf8')).digest('base64');
    if (!safeEqual(expected, auth.signature)) {
      throw new CloudError(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        {
          StringToSign: sts,
          SignatureProvided: auth.signature,
          OSSAccessKeyId: auth.accessKeyId,
        },
      );
    }
    return;
  }
  const xDate = headerValue(req, 'x-oss-date') ?? '';
  if (!xDate.startsWith(auth.date)) {
    throw new CloudError(403, 'SignatureDoesNotMatch', 'The credential date does not match x-oss-date.');
  }
  const canonical = v4CanonicalRequest(req, target, auth.additionalHeaders);
  const sts = v4StringToSign(req, auth, canonical);
  const expected = v4Signature(secret, auth, sts);
  if (!safeEqual(expected, auth.signature)) {
    throw new CloudError(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      {
        StringToSign: sts,
        CanonicalRequest: canonical,
        SignatureProvided: auth.signature,
        OSSAccessKeyId: auth.accessKeyId,
      },
    );
  }
}
