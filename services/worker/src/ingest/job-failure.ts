import { AppError, isRetryable, type JobError } from '@vod-ingest/shared';

/**
 * A failed attempt's error as users see it, and whether another attempt may help. A source that
 * changed under the upload is said so and not retried; our own errors keep their code and
 * `retryable`; a vanished file is permanent; network errors are retryable; anything else (a
 * programming error) is a permanent INTERNAL_ERROR that leaks nothing.
 */
export function describeJobFailure(err: unknown, sourceUnchanged: boolean): JobError {
  if (!sourceUnchanged) {
    return { code: 'SOURCE_CHANGED', message: 'The source file disappeared or changed size during the upload', retryable: false };
  }
  if (err instanceof AppError) return { code: err.code, message: err.message, retryable: err.retryable };
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return { code: 'SOURCE_NOT_FOUND', message: 'The source file no longer exists', retryable: false };
  if (isRetryable(err)) return { code: code ?? 'NETWORK_ERROR', message: 'A network error interrupted the upload', retryable: true };
  return { code: 'INTERNAL_ERROR', message: 'The worker failed unexpectedly; see its logs', retryable: false };
}
