import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import type OSS from 'ali-oss';

/** The `mime` ali-oss itself resolves (its own dependency, whatever version it pins). */
const mime = createRequire(createRequire(import.meta.url).resolve('ali-oss'))('mime') as { getType(pathOrExt: string): string | null };

/** The parts of an ali-oss client's options the signer reads (`lib/common/client/initOptions.js`). */
interface AliOssOptions {
  endpoint: { protocol: string; hostname: string; port: string | null };
  bucket?: string;
  region: string;
  internal?: boolean;
  cname?: boolean;
  sldEnable?: boolean;
  accessKeyId: string;
  accessKeySecret: string;
  stsToken?: string;
  headerEncoding?: string;
  authorizationV4?: boolean;
  amendTimeSkewed?: number;
  isRequestPay?: boolean;
}

/** A signed PUT, ready for `http.request`: the endpoint's parts, the path with its query, and the headers. */
export interface SignedPut {
  protocol: 'http:' | 'https:';
  hostname: string;
  port?: string;
  /** Path and query, as ali-oss builds them. */
  path: string;
  headers: Record<string, string | number>;
}

/** What one PUT carries besides its key: headers (Content-Length, x-oss-meta-*), UploadPart's subresources, a content type. */
export interface PutRequest {
  headers: Record<string, string | number>;
  subres?: { partNumber: number; uploadId: string };
  /** Taken as ali-oss's putStream takes `mime`: a type with '/', else looked up, as is the key's extension without one. */
  mime?: string;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|[0-1]?\d?\d)(\.(25[0-5]|2[0-4]\d|[0-1]?\d?\d)){3}$/;

/** Signers made so far, one per ali-oss client (a client's options never change). */
const signers = new WeakMap<OSS, OssPutSigner | null>();

/**
 * The PutObject and UploadPart requests ali-oss's `createRequest` would build for `oss` (header
 * signature V1: headers, HMAC-SHA1 Authorization, URL, and the Host of an IP endpoint), built
 * without it: ali-oss formats the date with `dateformat`, copies and lower-cases every header
 * twice and parses the endpoint again for every request: ~9% of a worker's CPU per small job in a
 * profile under bench:jobs load, 4–6x what this takes. What stays per client (URL prefix, Host,
 * User-Agent, the key) is computed once. Undefined for the options it does not replicate (V4
 * signatures, a clock skew correction, another header encoding, requester pays, no bucket): the
 * caller then asks ali-oss. shared/test/oss-put-signer.unit.test.ts checks it header for header
 * against ali-oss.
 */
export function ossPutSigner(oss: OSS): OssPutSigner | undefined {
  let signer = signers.get(oss);
  if (signer === undefined) {
    const o = (oss as unknown as { options: AliOssOptions }).options;
    const supported = o.bucket && !o.authorizationV4 && !o.amendTimeSkewed && !o.isRequestPay && (o.headerEncoding ?? 'utf-8') === 'utf-8';
    signer = supported ? new OssPutSigner(o, (oss as unknown as { userAgent: string }).userAgent) : null;
    signers.set(oss, signer);
  }
  return signer ?? undefined;
}

/** Signs PUTs for one ali-oss client's options (see `ossPutSigner`, which makes and keeps them). */
export class OssPutSigner {
  private readonly key: KeyObject;
  private readonly fixed: Record<string, string>;
  private readonly pathPrefix: string;
  private readonly resourcePrefix: string;
  private readonly hostname: string;
  private readonly host?: string;
  private date = '';
  private dateSecond = -1;

  constructor(
    private readonly o: AliOssOptions,
    userAgent: string,
  ) {
    this.key = createSecretKey(Buffer.from(o.accessKeySecret, 'utf8'));
    // The headers every request starts with, after its x-oss-date, in ali-oss's order.
    this.fixed = {};
    if (userAgent.includes('nodejs')) this.fixed['User-Agent'] = userAgent;
    if (o.stsToken) this.fixed['x-oss-security-token'] = o.stsToken;
    const ip = isIP(o.endpoint.hostname);
    // A virtual-hosted bucket is a subdomain of the endpoint; path style (sldEnable) puts it first in the path.
    this.hostname = o.cname || ip || o.sldEnable ? o.endpoint.hostname : `${o.bucket}.${o.endpoint.hostname}`;
    this.pathPrefix = o.sldEnable ? `/${o.bucket}/` : '/';
    this.resourcePrefix = `/${o.bucket}/`;
    // An IP endpoint gets the Host OSS would see for the bucket (ali-oss's setRegion).
    if (ip) this.host = `${o.bucket}.${o.region}${o.internal && !o.region.startsWith('vpc100-oss-cn-') ? '-internal' : ''}.aliyuncs.com`;
  }

  /** The signed PUT of `key` (leading slashes dropped, as ali-oss drops them); `now` is the request's time (ms). */
  sign(key: string, req: PutRequest, now = Date.now()): SignedPut {
    const object = key.replace(/^\/+/, '');
    const headers: Record<string, string | number> = { 'x-oss-date': this.dateOf(now), ...this.fixed };
    for (const [k, v] of Object.entries(req.headers)) headers[k] = v;
    if (!contentTypeOf(headers)) {
      headers['Content-Type'] = (req.mime && req.mime.indexOf('/') > 0 ? req.mime : mime.getType(req.mime || path.extname(object))) as string;
      if (!contentTypeOf(headers)) {
        delete headers['Content-Type'];
        delete headers['content-type'];
      }
    }
    for (const k of Object.keys(headers)) if (headers[k]) headers[k] = String(headers[k]);
    const subres = req.subres ? `?partNumber=${req.subres.partNumber}&uploadId=${req.subres.uploadId}` : '';
    headers.authorization = `OSS ${this.o.accessKeyId}:${this.signature(headers, `${this.resourcePrefix}${object}${subres}`)}`;
    if (this.host) headers.host = this.host;
    const query = req.subres ? `?partNumber=${req.subres.partNumber}&uploadId=${encodeURIComponent(req.subres.uploadId)}` : '';
    const escaped = safeEncodeURIComponent(object).replace(/%2F/g, '/');
    return {
      protocol: this.o.endpoint.protocol as SignedPut['protocol'],
      hostname: this.hostname,
      ...(this.o.endpoint.port ? { port: this.o.endpoint.port } : {}),
      path: `${this.pathPrefix}${escaped}${query}`,
      headers,
    };
  }

  /** HMAC-SHA1 of OSS's string to sign: verb, Content-MD5 (none), Content-Type, date, the x-oss-* headers sorted, the resource. */
  private signature(headers: Record<string, string | number>, resource: string): string {
    const lower: Record<string, string | number> = {};
    for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
    const oss: string[] = [];
    for (const k of Object.keys(lower).sort()) if (k.startsWith('x-oss-')) oss.push(`${k}:${String(lower[k]).trim()}`);
    const contentType = lower['content-type'] ?? '';
    const toSign = ['PUT', lower['content-md5'] ?? '', contentType, lower['x-oss-date'], ...oss, resource].join('\n');
    return createHmac('sha1', this.key).update(toSign, 'utf8').digest('base64');
  }

  /** `Thu, 03 Dec 2026 17:05:00 GMT`: ali-oss's dateformat of the time, in UTC; formatted once a second. */
  private dateOf(now: number): string {
    const second = Math.floor(now / 1000);
    if (second !== this.dateSecond) {
      this.dateSecond = second;
      this.date = new Date(second * 1000).toUTCString();
    }
    return this.date;
  }
}

/** The Content-Type header, as ali-oss's `getHeader` finds it. */
function contentTypeOf(headers: Record<string, string | number>): string | number | undefined {
  return headers['Content-Type'] || headers['content-type'];
}

/** ali-oss's `isIP` for an endpoint's host name (ali-oss takes no IPv6 endpoint). */
function isIP(host: string): boolean {
  return IPV4.test(host);
}

/** `encodeURIComponent`, or the text itself where it throws (a lone surrogate), as ali-oss's `utility` does. */
function safeEncodeURIComponent(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return text;
  }
}
