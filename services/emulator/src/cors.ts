import type { IncomingMessage, ServerResponse } from 'node:http';
import { header } from './http-util.js';

/** What OSS's bucket CORS rule and our POP front end let a browser use. */
const ALLOWED_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'];

/**
 * Response headers a page's script may read. ali-oss in a browser throws "Please set the etag of
 * expose-headers in OSS" without `ETag`, reports `x-oss-request-id`, and reads the append
 * position, version id and the HEAD error header; the rest is what OSS documents for uploads.
 */
export const OSS_EXPOSED_HEADERS = [
  'ETag',
  'x-oss-request-id',
  'x-oss-hash-crc64ecma',
  'x-oss-object-type',
  'x-oss-next-append-position',
  'x-oss-version-id',
  'x-oss-err',
  'x-oss-ec',
  'Content-Range',
  'Date',
];

/** openapi-core reads the retry hint of a throttling answer. */
export const POP_EXPOSED_HEADERS = ['x-acs-request-id', 'x-acs-retry-after'];

/** Preflight answers may be cached this long (seconds), as a bucket rule's MaxAgeSeconds. */
const MAX_AGE_SECONDS = 600;

/** What a preflight gets: the headers to answer 200 with, or a refusal. */
export type PreflightVerdict = { allowed: true; headers: Record<string, string> } | { allowed: false };

/**
 * One CORS rule for every bucket and the POP endpoint, as an operator would set it on OSS:
 * allowed origins (`*` for any) and the methods above, any requested header. OSS echoes the
 * request's Origin rather than `*`, and so do we; a disallowed origin gets no CORS headers at all.
 */
export class CorsPolicy {
  private readonly anyOrigin: boolean;
  private readonly origins: Set<string>;

  constructor(origins: readonly string[]) {
    this.anyOrigin = origins.includes('*');
    this.origins = new Set(origins);
  }

  /** The request's Origin when the rule allows it. */
  allowedOrigin(req: IncomingMessage): string | undefined {
    const origin = header(req, 'origin');
    if (!origin) return undefined;
    return this.anyOrigin || this.origins.has(origin) ? origin : undefined;
  }

  /** Sets ACAO and Expose-Headers on an actual answer (errors included) to an allowed origin. */
  applyToAnswer(req: IncomingMessage, res: ServerResponse, exposed: readonly string[]): void {
    const origin = this.allowedOrigin(req);
    res.setHeader('vary', 'Origin');
    if (!origin) return;
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('access-control-expose-headers', exposed.join(', '));
  }

  /** Judges an `OPTIONS` preflight: origin allowed and the method one of the rule's. */
  preflight(req: IncomingMessage, exposed: readonly string[]): PreflightVerdict {
    const origin = this.allowedOrigin(req);
    const method = header(req, 'access-control-request-method')?.trim().toUpperCase();
    if (!origin || !method || !ALLOWED_METHODS.includes(method)) return { allowed: false };
    const headers: Record<string, string> = {
      'access-control-allow-origin': origin,
      'access-control-allow-methods': ALLOWED_METHODS.join(', '),
      'access-control-expose-headers': exposed.join(', '),
      'access-control-max-age': String(MAX_AGE_SECONDS),
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    };
    const requested = header(req, 'access-control-request-headers');
    if (requested) headers['access-control-allow-headers'] = requested;
    return { allowed: true, headers };
  }
}
