import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Every field that can hold a secret, wherever it sits in a logged object. pino's redaction
 * paths are exact, so the common nesting levels are listed explicitly.
 */
const SECRET_KEYS = [
  'AccessKeySecret',
  'accessKeySecret',
  'SecurityToken',
  'securityToken',
  'stsToken',
  'UploadAuth',
  'uploadAuth',
  'authorization',
  'Authorization',
  'apiKey',
  'apiKeys',
  'password',
  'secret',
  'token',
  'x-oss-security-token',
  'x-acs-security-token',
  'cookie',
  'webhookSecret',
];

const SECRETS: ReadonlySet<string> = new Set(SECRET_KEYS);
const CENSOR = '[REDACTED]';
/** The levels redacted: a secret key at the top of a logged object, one level down or two (`req.headers.authorization`). */
const REDACT_DEPTH = 3;

/**
 * `value` with every secret key (SECRET_KEYS) in its top `levels` levels censored. An object
 * without one is returned as it is (nothing copied); one with a secret is copied along the way
 * to it, never changed: the caller's object is not touched. pino's own `redact` did the same at
 * ~10× the cost: with wildcard paths it ran its redactor on every logged value.
 */
export function redactSecrets<T>(value: T, levels = REDACT_DEPTH): T {
  if (levels === 0 || value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return value;
  const obj = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    const next = SECRETS.has(key) && v !== undefined ? CENSOR : redactSecrets(v, levels - 1);
    if (next === v) continue;
    copy ??= (Array.isArray(obj) ? [...obj] : { ...obj }) as Record<string, unknown>;
    copy[key] = next;
  }
  return (copy ?? value) as T;
}

/** Errors serialized here (then redacted), which pino's `err` serializer must pass through as they are. */
const serializedErrors = new WeakSet<object>();

/** pino's error serializer, once: a value this module already serialized is passed through. */
function serializeError(value: unknown): unknown {
  return typeof value === 'object' && value !== null && serializedErrors.has(value) ? value : pino.stdSerializers.err(value as Error);
}

/**
 * What pino writes of a logged object or a child's bindings: `err` serialized first (its fields are
 * redacted like any other), then secrets redacted.
 */
function loggable(obj: Record<string, unknown>): Record<string, unknown> {
  const err = obj.err;
  if (err === undefined || err === null || typeof err !== 'object' || serializedErrors.has(err)) return redactSecrets(obj);
  const serialized = serializeError(err);
  if (serialized === err) return redactSecrets(obj);
  const out = redactSecrets({ ...obj, err: serialized });
  serializedErrors.add(out.err as object);
  return out;
}

export type { Logger };

/** Options for `createLogger`. */
export interface CreateLoggerOptions {
  /** Minimum level. Defaults to `info`. */
  level?: string;
  /** Where to write. Defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

/**
 * The JSON logger every service uses: `service` on every line, secrets redacted, messages are
 * event names (`UploadPartRetried`) with fields.
 */
export function createLogger(service: string, options: CreateLoggerOptions = {}): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? 'info',
    base: { service },
    // Secrets are redacted by the formatters (see redactSecrets), not by pino's `redact`.
    serializers: { err: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }), log: loggable, bindings: loggable },
  };
  const log = pino(opts, (options.destination as pino.DestinationStream | undefined) ?? stdoutDestination());
  // pino gives a child's bindings to no formatter: they are made loggable here (children inherit this).
  const child = log.child as unknown as (this: Logger, bindings: pino.Bindings, childOptions?: pino.ChildLoggerOptions) => Logger;
  log.child = function (this: Logger, bindings: pino.Bindings, childOptions?: pino.ChildLoggerOptions) {
    return child.call(this, loggable(bindings), childOptions);
  } as unknown as Logger['child'];
  return log;
}

/** A batch of log lines goes out once it holds this many bytes (UTF-16 units: about 10 lines)… */
const LOG_BATCH_BYTES = 4096;
/** …or this long after its first line. */
const LOG_BATCH_MS = 50;

/**
 * stdout, in batches: lines gather for up to 50 ms or 4 KiB and go out in one synchronous
 * write(2). One write per line cost a small job ~5% of the worker's CPU and a wake-up of whatever
 * reads the pipe (bench:jobs); pino's asynchronous SonicBoom sends each write through the thread
 * pool instead (~40 µs of CPU a line). What is batched is written on every exit that runs
 * JavaScript (the end of a graceful shutdown, `process.exit`, an uncaught exception); a SIGKILL
 * loses the last 50 ms of lines. Once stdout is a broken pipe (its reader is gone), lines are
 * dropped: logging never keeps the process from exiting. One per process, shared by its loggers.
 */
let stdout: pino.DestinationStream | undefined;
function stdoutDestination(): pino.DestinationStream {
  stdout ??= batchedStdout();
  return stdout;
}

function batchedStdout(): pino.DestinationStream {
  // SonicBoom writes synchronously and retries EAGAIN; it holds lines until told to write them
  // (its own threshold, below its 16 KiB maxWrite, is far above a batch: only flush() writes).
  const out = pino.destination({ dest: 1, sync: true, minLength: 16_000 });
  let pending = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending === 0) return;
    pending = 0;
    out.flush();
  };
  process.once('exit', () => {
    if (pending === 0) return;
    // flush() first: a broken pipe (whatever read stdout is gone) fails it with EPIPE, on which
    // pino's destination drops every later line, flushSync included. flushSync alone would retry
    // EPIPE every 100 ms forever (sonic-boom 4) and the process would never exit.
    out.flush();
    out.flushSync();
  });
  return {
    write(line: string) {
      out.write(line);
      pending += line.length;
      if (pending >= LOG_BATCH_BYTES) flush();
      else timer ??= setTimeout(flush, LOG_BATCH_MS).unref();
    },
  };
}

/** Removes credentials from a URL before it is logged (`https://user:pass@host` → `https://host`). */
export function safeUrl(raw: string): string {
  try {
    const u = new URL(raw);
    u.username = '';
    u.password = '';
    u.search = u.search ? '?[REDACTED]' : '';
    return u.toString();
  } catch {
    return '[unparseable url]';
  }
}
