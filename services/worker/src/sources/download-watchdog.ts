import { unavailable } from './url-source.errors.js';

/** Aborts a download on the caller's cancel, after a total time, or after an idle time. */
export interface DownloadWatchdog {
  /** Pass to every request and stream of the download. */
  readonly signal: AbortSignal;
  /** Records activity (a response head, a body chunk): restarts the idle timer. */
  touch(): void;
  /** Clears the timers; call when the download ends either way. */
  stop(): void;
  /** Why the download was aborted: the caller's `signal.reason`, or a timeout `AppError`. */
  readonly reason: unknown;
  /** True when the caller's own signal fired (a cancel), not a timeout. */
  readonly canceled: boolean;
}

/**
 * Starts the timers of one download. Timeouts abort with a retryable `SOURCE_URL_UNAVAILABLE`
 * (HTTP 504); a cancel aborts with the caller's own reason, untouched.
 */
export function startWatchdog(opts: { signal?: AbortSignal; totalMs: number; idleMs: number }): DownloadWatchdog {
  const ctl = new AbortController();
  let stopped = false;
  const abort = (reason: unknown) => {
    if (!ctl.signal.aborted) ctl.abort(reason);
  };
  const onCancel = () => abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onCancel, { once: true });
  const total = setTimeout(() => abort(unavailable(`download did not finish within ${opts.totalMs} ms`, { status: 504 })), opts.totalMs);
  const idle = setTimeout(() => abort(unavailable(`download stalled: no data for ${opts.idleMs} ms`, { status: 504 })), opts.idleMs);
  if (opts.signal?.aborted) onCancel();
  return {
    signal: ctl.signal,
    touch: () => {
      if (!stopped) idle.refresh();
    },
    stop: () => {
      stopped = true;
      clearTimeout(total);
      clearTimeout(idle);
      opts.signal?.removeEventListener('abort', onCancel);
    },
    get reason() {
      return ctl.signal.reason;
    },
    get canceled() {
      return opts.signal?.aborted === true && ctl.signal.reason === opts.signal.reason;
    },
  };
}
