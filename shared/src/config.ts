import { z } from 'zod';

/** Thrown by `parseConfig` with every problem found, one line each. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Parses an environment-like record with a zod object schema. Every problem is collected
 * (not only the first) so that an operator fixes them all in one go.
 */
export function parseConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || '(root)';
    return `${name}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}

/**
 * For `main.ts`: parse `process.env` once at start-up; on problems print them all and exit 1.
 * This is the one place in a service that reads `process.env`.
 */
export function loadConfig<S extends z.ZodType>(schema: S, service: string): z.infer<S> {
  try {
    return parseConfig(schema, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${service}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** Reusable field helpers: environment values are strings, these turn them into typed values. */
export const env = {
  /** A TCP port (0 lets the OS pick one). */
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  /** A positive integer with a default. */
  int: (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(fallback),
  /** `1`/`true`/`yes` or `0`/`false`/`no`; anything else is an error. */
  bool: (fallback: boolean) =>
    z
      .enum(['1', '0', 'true', 'false', 'yes', 'no', ''])
      .optional()
      .transform((v) => (v === undefined || v === '' ? fallback : ['1', 'true', 'yes'].includes(v))),
  /** A comma-separated list; empty items dropped. */
  list: (fallback: string[] = []) =>
    z
      .string()
      .optional()
      .transform((v) =>
        v === undefined
          ? fallback
          : v
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
      ),
  /** pino log level. Defaults to `info`. */
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};
