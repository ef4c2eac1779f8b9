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

/** True for errors that are worth retrying (our own flag, or a network-level failure). */
export function isRetryable(err: unknown): boolean {
  if (err instanceof AppError) return err.retryable;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'].includes(code);
}
