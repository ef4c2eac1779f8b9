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

export const REDACT_PATHS: string[] = SECRET_KEYS.flatMap((k) => {
  const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
  const dot = key.startsWith('[') ? '' : '.';
  return [key, `*${dot}${key}`, `*.*${dot}${key}`, `headers${dot}${key}`, `req.headers${dot}${key}`];
});

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
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return options.destination ? pino(opts, options.destination as pino.DestinationStream) : pino(opts);
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
