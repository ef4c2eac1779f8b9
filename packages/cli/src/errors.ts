/**
 * Exit codes of `vod-ingest` (also listed by `--help`). A failure prints one line to stderr,
 * `vod-ingest: <what failed>`, and exits with one of these.
 */
export const EXIT = {
  ok: 0,
  /** The job or upload ended `failed` or `canceled`. */
  failed: 1,
  /** Bad command line: unknown command or option, a missing or malformed value. */
  usage: 2,
  /** The api refused the request (4xx/5xx): its error code and message are printed. */
  refused: 3,
  /** The api could not be reached, or a local file or OSS could not be read or written. */
  io: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the command reports in one line and exits with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage, 'USAGE');

/** The one line a failure prints: a CliError's message, or an unexpected error's code and message. */
export function describeError(err: unknown): { line: string; exitCode: ExitCode } {
  if (err instanceof CliError) return { line: err.message, exitCode: err.exitCode };
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  const message = String(e?.cause?.message ?? e?.message ?? err);
  return { line: code && !message.includes(code) ? `${code}: ${message}` : message, exitCode: EXIT.io };
}
