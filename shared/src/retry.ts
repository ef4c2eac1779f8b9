import { setTimeout as sleep } from 'node:timers/promises';
import { isRetryable } from './errors.js';

/** How `retry` spaces and bounds its attempts. */
export interface RetryOptions {
  /** Attempts after the first one. Defaults to 3. */
  retries?: number;
  /** The first delay (ms); doubles per retry. Defaults to 200. */
  baseMs?: number;
  /** No delay is longer than this (ms), however many retries. Defaults to 30,000. */
  maxDelayMs?: number;
  /** Whether an error is worth another attempt. Defaults to `isRetryable`. */
  retryable?: (err: unknown) => boolean;
  /** Called before each wait, with the error, the attempt that failed (1-based) and the delay. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  /**
   * Once aborted, no further attempt starts and a wait in progress ends at once: the last
   * attempt's error is thrown. Defaults to none.
   */
  signal?: AbortSignal;
}

/**
 * The delay before retry number `retry` (0 for the first): `baseMs * 2^retry`, capped at
 * `maxDelayMs`, with jitter — uniformly within ±50% of that, never above the cap.
 */
export function backoffDelay(retry: number, baseMs: number, maxDelayMs: number, random: () => number = Math.random): number {
  const delay = Math.min(maxDelayMs, baseMs * 2 ** retry);
  return Math.min(maxDelayMs, delay / 2 + random() * delay);
}

/**
 * Runs `call` until it succeeds, throws an error that is not retryable, runs out of retries or
 * `signal` aborts; between attempts it waits a capped, jittered, doubling delay (`backoffDelay`).
 * Throws the last attempt's error.
 */
export async function retry<T>(call: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const retries = opts.retries ?? 3;
  const baseMs = opts.baseMs ?? 200;
  const maxDelayMs = opts.maxDelayMs ?? 30_000;
  const retryable = opts.retryable ?? isRetryable;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt);
    } catch (err) {
      if (attempt > retries || !retryable(err) || opts.signal?.aborted) throw err;
      const delayMs = backoffDelay(attempt - 1, baseMs, maxDelayMs);
      opts.onRetry?.(err, attempt, delayMs);
      const aborted = await sleep(delayMs, false, { signal: opts.signal }).catch(() => true);
      if (aborted) throw err;
    }
  }
}
