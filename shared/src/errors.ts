/**
 * The one error model of vod-ingest. Every error that crosses a boundary (HTTP answer, job
 * failure, SDK call) is an `AppError` or is wrapped into one where it is caught.
 */
export interface AppErrorOptions {
  /** HTTP status this error maps to. Defaults to 500. */
  status?: number;
  /** Whether trying again later may succeed. Defaults to false. */
  retryable?: boolean;
  /** Extra, safe-to-show facts (for example which fields failed validation). */
  details?: unknown[];
  /** The underlying error, kept for logs; never sent to clients. */
  cause?: unknown;
  /** Request id of the upstream service (Alibaba `RequestId`), when there is one. */
  requestId?: string;
}

export class AppError extends Error {
  /** UPPER_SNAKE machine-readable code, or the upstream service's own code when mapped. */
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: unknown[];
  readonly requestId?: string;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? 500;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? [];
    this.requestId = options.requestId;
  }

  /** The JSON body clients see: `{"error": {code, message, details}}`. */
  toJSON(): { error: { code: string; message: string; details: unknown[] } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/** 400: the request is malformed; `details` name the offending fields. */
export class ValidationError extends AppError {
  constructor(message: string, details: unknown[] = [], code = 'VALIDATION_FAILED') {
    super(code, message, { status: 400, details });
  }
}

/** 401: no or wrong credentials. */
export class UnauthorizedError extends AppError {
  constructor(message = 'Missing or invalid credentials', code = 'UNAUTHORIZED') {
    super(code, message, { status: 401 });
  }
}

/** 404: the thing does not exist (or belongs to someone else). */
export class NotFoundError extends AppError {
  constructor(message = 'Not found', code = 'NOT_FOUND') {
    super(code, message, { status: 404 });
  }
}

/** 503: a dependency is unavailable; try again later. */
export class UnavailableError extends AppError {
  /** Seconds the caller should wait, sent as `Retry-After`. */
  readonly retryAfterSeconds?: number;
  constructor(message: string, options: { code?: string; retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(options.code ?? 'SERVICE_UNAVAILABLE', message, { status: 503, retryable: true, cause: options.cause });
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

const NETWORK_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);
/** Error names that mean a bug or bad input on our side: the same call fails the same way every time. */
const PROGRAMMING_ERROR_NAMES: ReadonlySet<string> = new Set(['TypeError', 'RangeError', 'URIError', 'SyntaxError', 'ReferenceError']);

const codeOf = (err: unknown): unknown => (err as { code?: unknown } | null)?.code;
const hasNetworkCode = (err: unknown): boolean => {
  const code = codeOf(err);
  return typeof code === 'string' && NETWORK_CODES.has(code);
};
/** A system or socket error code (`ECONNRESET`, `ENOTFOUND`, undici's `UND_ERR_SOCKET`), not Node's `ERR_*` misuse codes. */
const hasSocketCode = (err: unknown): boolean => {
  const code = codeOf(err);
  return typeof code === 'string' && /^(E[A-Z0-9]+|UND_ERR_[A-Z_]+)$/.test(code);
};

/**
 * True for a TypeError, RangeError, URIError, SyntaxError or ReferenceError — a bug, or input
 * that can never be sent (`encodeURIComponent` of a lone surrogate, a header with a character
 * above U+00FF) — judged by `name`, since SDKs re-wrap errors keeping it (ali-oss turns a
 * TypeError into an `Error` named `TypeError`). Not when it carries a network failure (undici's
 * `TypeError: fetch failed` with an `ECONNREFUSED` cause). Never worth retrying.
 */
export function isProgrammingError(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name;
  if (typeof name !== 'string' || !PROGRAMMING_ERROR_NAMES.has(name)) return false;
  return !hasSocketCode(err) && !hasSocketCode((err as { cause?: unknown }).cause);
}

/** True for errors that are worth retrying: our own flag, or a network-level failure; never a programming error. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof AppError) return err.retryable;
  if (isProgrammingError(err)) return false;
  return hasNetworkCode(err);
}
