import { isIP } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { AppError, checkUrlShape, guardedLookup, isForbiddenAddress, safeUrl, type Logger, type UrlPolicy } from '@vod-ingest/shared';
import { errorForFailure, errorForStatus, forbiddenAddress } from './url-source.errors.js';

/** Redirect hops followed before giving up. */
export const DEFAULT_MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = 'vod-ingest';

/**
 * An undici Agent whose every connection goes through `guardedLookup`: the SSRF check applies to
 * the address actually dialled, so a name that re-resolves to a private address (DNS rebinding)
 * is refused at connect time. Redirects are never followed by the agent itself.
 * Timeouts of its own are off: the caller's watchdog aborts stalled requests.
 */
export function createGuardedAgent(policy: UrlPolicy): Agent {
  return new Agent({
    connect: { lookup: guardedLookup(policy) },
    maxRedirections: 0,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

/**
 * Checks one hop before it is requested: its shape (`checkUrlShape`), and, when its host is an IP
 * literal, the address itself — Node dials IP literals without calling `lookup`, so the guarded
 * lookup alone would let `http://169.254.169.254/` through.
 */
export function checkHop(raw: string, policy: UrlPolicy): URL {
  const url = checkUrlShape(raw);
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(host) && !policy.allowlist.includes(host) && isForbiddenAddress(host)) throw forbiddenAddress();
  return url;
}

/** One GET of a url source, redirects followed by hand. */
export interface GuardedRequest {
  url: string;
  /** Sent to the first URL's origin only; dropped for good once a redirect leaves it. */
  headers?: Record<string, string>;
  policy: UrlPolicy;
  dispatcher: Dispatcher;
  signal: AbortSignal;
  /** Defaults to `DEFAULT_MAX_REDIRECTS` (5). */
  maxRedirects?: number;
  log?: Logger;
  /** Called whenever a response head arrives (the caller's idle watchdog). */
  onActivity?: () => void;
}

/** The final 2xx answer; its body is still unread. */
export interface GuardedResponse {
  url: URL;
  statusCode: number;
  contentLength?: number;
  body: Dispatcher.ResponseData['body'];
}

/**
 * GETs `req.url`, following at most `maxRedirects` redirects, each hop re-checked. Non-2xx answers
 * become `AppError`s (see `errorForStatus`); network failures are mapped by `errorForFailure`,
 * except an abort, which rejects with the signal's reason.
 */
export async function openGuardedUrl(req: GuardedRequest): Promise<GuardedResponse> {
  let url = checkHop(req.url, req.policy);
  const origin = url.origin;
  let headers = req.headers;
  for (let hop = 0; ; hop++) {
    const res = await send(url, headers, req);
    req.onActivity?.();
    if (res.statusCode >= 200 && res.statusCode < 300) {
      return { url, statusCode: res.statusCode, contentLength: contentLengthOf(res.headers), body: res.body };
    }
    const location = REDIRECTS.has(res.statusCode) ? single(res.headers.location) : undefined;
    await res.body.dump().catch(() => undefined);
    if (!location) throw errorForStatus(res.statusCode, safeUrl(url.href));
    if (hop >= (req.maxRedirects ?? DEFAULT_MAX_REDIRECTS)) {
      throw new AppError('SOURCE_URL_TOO_MANY_REDIRECTS', 'source.url redirects too many times', { status: 400 });
    }
    const next = checkHop(resolveLocation(location, url), req.policy);
    // Once off the origin, job headers stay off, even if a later hop comes back to it.
    const headersDropped = headers !== undefined && next.origin !== origin;
    if (headersDropped) headers = undefined;
    req.log?.info({ from: safeUrl(url.href), to: safeUrl(next.href), status: res.statusCode, headersDropped }, 'SourceRedirectFollowed');
    url = next;
  }
}

async function send(url: URL, headers: Record<string, string> | undefined, req: GuardedRequest): Promise<Dispatcher.ResponseData> {
  try {
    return await request(url, { method: 'GET', headers: withUserAgent(headers), dispatcher: req.dispatcher, signal: req.signal, maxRedirections: 0 });
  } catch (err) {
    if (req.signal.aborted) throw req.signal.reason;
    throw errorForFailure(err, safeUrl(url.href));
  }
}

function withUserAgent(headers: Record<string, string> | undefined): Record<string, string> {
  const own = Object.keys(headers ?? {}).some((k) => k.toLowerCase() === 'user-agent');
  return own ? { ...headers } : { 'user-agent': USER_AGENT, ...headers };
}

/** A relative Location resolved against the hop; an unparseable one is left for `checkUrlShape` to refuse. */
function resolveLocation(location: string, base: URL): string {
  try {
    return new URL(location, base).href;
  } catch {
    return location;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function contentLengthOf(headers: Record<string, string | string[] | undefined>): number | undefined {
  const raw = single(headers['content-length']);
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return undefined;
  const n = Number(raw.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}
