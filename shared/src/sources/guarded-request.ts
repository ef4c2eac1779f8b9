import { Agent, request, type Dispatcher } from 'undici';
import { AppError } from '../errors.js';
import { safeUrl, type Logger } from '../logger.js';
import { checkUrlHop, forbiddenAddressError, guardedLookup, type UrlPolicy } from './url-guard.js';

/** Redirect hops followed before giving up. */
export const DEFAULT_MAX_REDIRECTS = 5;
/** How long `probeUrl` may take, every hop together, when `timeoutMs` is not given: 10 s. */
export const DEFAULT_PROBE_TIMEOUT_MS = 10_000;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = 'vod-ingest';

/** Options of `createGuardedAgent`. */
export interface GuardedAgentOptions {
  /**
   * Connect, response-head and body timeouts of the agent itself. Defaults to none but undici's
   * 10 s connect timeout: the caller's signal ends stalled requests.
   */
  timeoutMs?: number;
}

/**
 * The one address-pinned HTTP agent: every connection it opens goes through `guardedLookup`, so
 * the SSRF check applies to the address actually dialled and a name that re-resolves to a private
 * address (DNS rebinding) is refused at connect time. It never follows redirects itself. IP
 * literals are not looked up by Node: check each URL with `checkUrlHop` before requesting it
 * (`openGuardedUrl` does).
 */
export function createGuardedAgent(policy: UrlPolicy, opts: GuardedAgentOptions = {}): Agent {
  const t = opts.timeoutMs;
  return new Agent({
    connect: { lookup: guardedLookup(policy), ...(t ? { timeout: t } : {}) },
    maxRedirections: 0,
    headersTimeout: t ?? 0,
    bodyTimeout: t ?? 0,
  });
}

/** One request of a URL whose redirects are followed by hand, each hop checked first. */
export interface GuardedRequest {
  url: string;
  /** Defaults to GET. */
  method?: 'GET' | 'HEAD';
  /** Sent to the first URL's origin only; dropped for good once a redirect leaves it. */
  headers?: Record<string, string>;
  policy: UrlPolicy;
  /** An agent from `createGuardedAgent` with the same policy. */
  dispatcher: Dispatcher;
  signal: AbortSignal;
  /** Defaults to `DEFAULT_MAX_REDIRECTS` (5). */
  maxRedirects?: number;
  log?: Logger;
  /** Called whenever a response head arrives (the caller's idle watchdog). */
  onActivity?: () => void;
  /**
   * Maps a failure on the wire of the hop `url` (not an abort, not a refused address). Defaults to
   * rethrowing it as it is.
   */
  mapFailure?: (err: unknown, url: URL) => unknown;
}

/** The first answer that is not a redirect to follow; its body is still unread. */
export interface GuardedResponse {
  url: URL;
  statusCode: number;
  headers: Dispatcher.ResponseData['headers'];
  contentLength?: number;
  body: Dispatcher.ResponseData['body'];
}

/**
 * Requests `req.url`, following at most `maxRedirects` redirects (301/302/303/307/308 with a
 * Location), each hop checked by `checkUrlHop` before it is requested. Throws `checkUrlShape`'s
 * codes, `SOURCE_URL_FORBIDDEN_ADDRESS` (403: a forbidden IP literal, or a name resolving only to
 * forbidden addresses), `SOURCE_URL_TOO_MANY_REDIRECTS` (400), the signal's reason on abort, and
 * other failures through `mapFailure`. Any other status is returned for the caller to judge.
 */
export async function openGuardedUrl(req: GuardedRequest): Promise<GuardedResponse> {
  let url = checkUrlHop(req.url, req.policy);
  const origin = url.origin;
  let headers = req.headers;
  for (let hop = 0; ; hop++) {
    const res = await send(url, headers, req);
    req.onActivity?.();
    const location = REDIRECTS.has(res.statusCode) ? single(res.headers.location) : undefined;
    if (!location) return { url, statusCode: res.statusCode, headers: res.headers, contentLength: contentLengthOf(res.headers), body: res.body };
    await res.body.dump().catch(() => undefined);
    if (hop >= (req.maxRedirects ?? DEFAULT_MAX_REDIRECTS)) {
      throw new AppError('SOURCE_URL_TOO_MANY_REDIRECTS', 'source.url redirects too many times', { status: 400 });
    }
    const next = checkUrlHop(resolveLocation(location, url), req.policy);
    // Once off the origin, the caller's headers stay off, even if a later hop comes back to it.
    const headersDropped = headers !== undefined && next.origin !== origin;
    if (headersDropped) headers = undefined;
    req.log?.info({ from: safeUrl(url.href), to: safeUrl(next.href), status: res.statusCode, headersDropped }, 'SourceRedirectFollowed');
    url = next;
  }
}

/** What `probeUrl` found at the end of the redirects. */
export interface ProbeResult {
  url: URL;
  /** The final answer's status to HEAD (some origins refuse HEAD: not judged here). */
  statusCode: number;
}

/**
 * The submission-time check of a url source: HEADs it through a guarded agent of its own (closed
 * afterwards), redirects followed by hand as `openGuardedUrl` does, `headers` going to the first
 * origin only. Throws what `openGuardedUrl` throws, `SOURCE_URL_UNRESOLVABLE` (400) when a hop's
 * host does not resolve, and other network failures as they are.
 */
export async function probeUrl(
  raw: string,
  policy: UrlPolicy,
  init: { headers?: Record<string, string>; maxRedirects?: number; timeoutMs?: number; log?: Logger } = {},
): Promise<ProbeResult> {
  const agent = createGuardedAgent(policy);
  try {
    const res = await openGuardedUrl({
      url: raw,
      method: 'HEAD',
      headers: init.headers,
      policy,
      dispatcher: agent,
      signal: AbortSignal.timeout(init.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS),
      maxRedirects: init.maxRedirects,
      log: init.log,
      mapFailure: (err, url) => (hasCode(err, 'ENOTFOUND') ? unresolvable(url, err) : err),
    });
    await res.body.dump().catch(() => undefined);
    return { url: res.url, statusCode: res.statusCode };
  } finally {
    await agent.destroy().catch(() => undefined);
  }
}

async function send(url: URL, headers: Record<string, string> | undefined, req: GuardedRequest): Promise<Dispatcher.ResponseData> {
  try {
    return await request(url, {
      method: req.method ?? 'GET',
      headers: withUserAgent(headers),
      dispatcher: req.dispatcher,
      signal: req.signal,
      maxRedirections: 0,
    });
  } catch (err) {
    if (req.signal.aborted) throw req.signal.reason;
    if (hasCode(err, 'SOURCE_URL_FORBIDDEN_ADDRESS')) throw forbiddenAddressError(err);
    throw req.mapFailure ? req.mapFailure(err, url) : err;
  }
}

function unresolvable(url: URL, cause: unknown): AppError {
  const message = `source.url host ${url.hostname} does not resolve`;
  return new AppError('SOURCE_URL_UNRESOLVABLE', message, { status: 400, details: [{ field: 'source.url', message }], cause });
}

/** Whether `code` is on the error or along its `cause` chain (undici and Node wrap the interesting one). */
function hasCode(err: unknown, code: string): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
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

function contentLengthOf(headers: Dispatcher.ResponseData['headers']): number | undefined {
  const raw = single(headers['content-length']);
  if (raw === undefined || !/^\d+$/.test(raw.trim())) return undefined;
  const n = Number(raw.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}
