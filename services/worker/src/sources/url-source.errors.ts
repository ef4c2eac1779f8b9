import { AppError, forbiddenAddressError } from '@vod-ingest/shared';

/**
 * The errors a `url` source download ends with. Permanent ones (the origin said no, the address
 * is forbidden, the body is too large) fail the job at once; retryable ones (5xx, 429, timeouts,
 * resets, a short body) let BullMQ try again later. A forbidden address is `forbiddenAddressError`
 * (shared, 403 `SOURCE_URL_FORBIDDEN_ADDRESS`), the same at submission and at download.
 */

/** 413: the body is (or is declared) larger than the limit. */
export const tooLarge = (maxBytes: number, declared?: number): AppError =>
  new AppError('SOURCE_TOO_LARGE', `source.url body exceeds the limit of ${maxBytes} bytes`, {
    status: 413,
    details: declared === undefined ? [{ maxBytes }] : [{ maxBytes, contentLength: declared }],
  });

/** 502, retryable: the body ended before (or went past) its declared Content-Length. */
export const truncated = (received: number, declared: number, cause?: unknown): AppError =>
  new AppError('SOURCE_URL_TRUNCATED', `source.url body ended after ${received} of ${declared} bytes`, {
    status: 502,
    retryable: true,
    cause,
    details: [{ received, contentLength: declared }],
  });

/** 502 or 504, retryable: the origin is down, slow, throttling or dropped the connection. */
export const unavailable = (message: string, options: { status?: number; cause?: unknown } = {}): AppError =>
  new AppError('SOURCE_URL_UNAVAILABLE', message, { status: options.status ?? 502, retryable: true, cause: options.cause });

/**
 * Maps a non-2xx, non-redirect answer of the origin. 401/403 → `SOURCE_URL_FORBIDDEN`,
 * 404/410 → `SOURCE_URL_NOT_FOUND` (both permanent); 408, 425, 429 and 5xx →
 * `SOURCE_URL_UNAVAILABLE` (retryable); any other 4xx → `SOURCE_URL_REJECTED` (permanent).
 */
export function errorForStatus(status: number, where: string): AppError {
  const details = [{ originStatus: status }];
  if (status === 401 || status === 403) {
    return new AppError('SOURCE_URL_FORBIDDEN', `origin refused access to ${where} (HTTP ${status})`, { status: 502, details });
  }
  if (status === 404 || status === 410) {
    return new AppError('SOURCE_URL_NOT_FOUND', `origin has no ${where} (HTTP ${status})`, { status: 502, details });
  }
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    return new AppError('SOURCE_URL_UNAVAILABLE', `origin could not serve ${where} now (HTTP ${status})`, { status: 502, retryable: true, details });
  }
  return new AppError('SOURCE_URL_REJECTED', `origin rejected the request for ${where} (HTTP ${status})`, { status: 502, details });
}

const TLS_CODE = /^(CERT_|ERR_TLS_|ERR_SSL_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_)/;
const DISK_CODES = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'EMFILE', 'ENFILE']);

/** Every `code` along an error's `cause` chain (undici and Node wrap the interesting one). */
export function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  return codes;
}

/**
 * Maps a failure that is not an answer of the origin: a refused address from the guarded lookup
 * (`SOURCE_URL_FORBIDDEN_ADDRESS`, 403), DNS, TLS, the spool disk, or anything else on the wire
 * (retryable `SOURCE_URL_UNAVAILABLE`).
 */
export function errorForFailure(err: unknown, where: string): AppError {
  if (err instanceof AppError) return err;
  const codes = errorCodes(err);
  if (codes.includes('SOURCE_URL_FORBIDDEN_ADDRESS')) return forbiddenAddressError(err);
  if (codes.includes('ENOTFOUND')) {
    return new AppError('SOURCE_URL_UNRESOLVABLE', `source.url host of ${where} does not resolve`, { status: 502, cause: err });
  }
  if (codes.some((c) => TLS_CODE.test(c))) {
    return new AppError('SOURCE_URL_TLS', `TLS connection to ${where} failed (${codes.find((c) => TLS_CODE.test(c))})`, { status: 502, cause: err });
  }
  const disk = codes.find((c) => DISK_CODES.has(c));
  if (disk && (err as { syscall?: string }).syscall) {
    return new AppError('SOURCE_SPOOL_FAILED', `could not write the download to the spool directory (${disk})`, { status: 500, retryable: true, cause: err });
  }
  return unavailable(`download of ${where} failed (${codes[0] ?? 'network error'})`, { cause: err });
}
