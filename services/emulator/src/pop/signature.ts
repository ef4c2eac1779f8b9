import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { safeEqual } from '@vod-ingest/shared';
import { CloudError } from '../errors.js';
import { rfc3986Encode } from '../http-util.js';

/** The parsed `authorization: ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..`. */
export interface Acs3Auth {
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

export function parseAcs3(value: string | undefined): Acs3Auth | undefined {
  if (!value?.startsWith('ACS3-HMAC-SHA256 ')) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.slice('ACS3-HMAC-SHA256 '.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signature = fields.get('Signature');
  const signedHeaders = fields.get('SignedHeaders');
  if (!accessKeyId || !signature || !signedHeaders) {
    throw new CloudError(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.');
  }
  return { accessKeyId, signature, signedHeaders: signedHeaders.split(';') };
}

function headerValues(req: IncomingMessage, name: string): string[] {
  // Repeated headers arrive joined by ", " in req.headers; rawHeaders keeps them apart.
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === name) out.push(req.rawHeaders[i + 1].trim());
  }
  return out;
}

/**
 * ACS3 canonical request as openapi-core's `getAuthorization` builds it. Every `x-acs-*`, `host`
 * and `content-type` header must be signed; a signer that leaves one out does not match.
 */
export function acs3CanonicalRequest(req: IncomingMessage, pathname: string, query: Array<{ key: string; value: string | null }>, auth: Acs3Auth): string {
  const names = new Set(auth.signedHeaders);
  for (const k of Object.keys(req.headers)) {
    if (k.startsWith('x-acs-') || k === 'host' || k === 'content-type') names.add(k);
  }
  const sortedNames = [...names].sort();
  const canonicalHeaders = sortedNames.map((k) => `${k}:${headerValues(req, k).sort().join(',')}\n`).join('');
  const canonicalQuery = [...query]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((q) => `${q.key}=${q.value === null ? '' : rfc3986Encode(q.value)}`)
    .join('&');
  const canonicalUri = pathname.replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~');
  const payloadHash = (req.headers['x-acs-content-sha256'] as string | undefined) ?? '';
  return [req.method ?? 'POST', canonicalUri, canonicalQuery, canonicalHeaders, sortedNames.join(';'), payloadHash].join('\n');
}

export function verifyAcs3(
  req: IncomingMessage,
  pathname: string,
  query: Array<{ key: string; value: string | null }>,
  body: Buffer,
  auth: Acs3Auth,
  secret: string,
): void {
  const payloadHash = createHash('sha256').update(body).digest('hex');
  if (req.headers['x-acs-content-sha256'] !== payloadHash) {
    throw new CloudError(400, 'IncompleteSignature', 'x-acs-content-sha256 does not match the request body.');
  }
  const canonical = acs3CanonicalRequest(req, pathname, query, auth);
  const stringToSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonical).digest('hex')}`;
  const expected = createHmac('sha256', secret).update(stringToSign).digest('hex');
  if (!safeEqual(expected, auth.signature)) throw signatureMismatch(stringToSign);
}

/** v2 (HMAC-SHA1 over the sorted query), as openapi-core's `getRPCSignature` computes it. */
export function verifyRpcV2(method: string, params: Map<string, string>, secret: string): void {
  const given = params.get('Signature') ?? '';
  const canonical = [...params.entries()]
    .filter(([k]) => k !== 'Signature')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${rfc3986Encode(k)}=${rfc3986Encode(v)}`)
    .join('&');
  const stringToSign = `${method}&${rfc3986Encode('/')}&${rfc3986Encode(canonical)}`;
  const expected = createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
  if (!safeEqual(expected, given)) throw signatureMismatch(stringToSign);
}

function signatureMismatch(stringToSign: string): CloudError {
  return new CloudError(403, 'SignatureDoesNotMatch', `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`);
}
