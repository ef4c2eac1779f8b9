import { z } from 'zod';
import type { HostPort, RedisTarget } from './redis.js';

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
  /** A Redis key prefix that carries a Redis Cluster hash tag (`{…}`, see `hashTagOf`). */
  keyPrefix: (fallback: string) =>
    z
      .string()
      .min(1)
      .refine((p) => hashTagOf(p) !== undefined, {
        message: 'must carry a Redis Cluster hash tag such as {vod-ingest} (non-empty text in braces): every key of a service lives in the slot of that tag',
      })
      .default(fallback),
};

/**
 * The hash tag Redis Cluster hashes a key starting with `prefix` by: the text between the first
 * `{` and the first `}` after it, when not empty; undefined when there is none (the whole key is
 * then hashed, and keys of one job would land on different nodes).
 */
export function hashTagOf(prefix: string): string | undefined {
  const open = prefix.indexOf('{');
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix.slice(open + 1, close) : undefined;
}

/** `host:port`, IPv6 hosts in brackets (`[::1]:7000`); undefined when malformed. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(text.trim());
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) return undefined;
  return { host: m[1].replace(/^\[|\]$/g, ''), port };
}

const emptyIsUnset = (v: unknown) => (v === '' ? undefined : v);

const clusterNodes = env.list().transform((items, ctx) => {
  const nodes: HostPort[] = [];
  for (const item of items) {
    const node = parseHostPort(item);
    if (node) nodes.push(node);
    else ctx.addIssue({ code: 'custom', message: `"${item}" is not host:port` });
  }
  return nodes;
});

const natMap = env.list().transform((items, ctx) => {
  const map: Record<string, HostPort> = {};
  for (const item of items) {
    const [from, to, ...rest] = item.split('=');
    const inside = parseHostPort(from ?? '');
    const outside = parseHostPort(to ?? '');
    if (!inside || !outside || rest.length > 0) {
      ctx.addIssue({ code: 'custom', message: `"${item}" is not internal-host:port=external-host:port` });
      continue;
    }
    map[`${inside.host}:${inside.port}`] = outside;
  }
  return map;
});

/**
 * The Redis settings every service reads beside its own `REDIS_URL`; spread into the service's
 * schema, then turn the parsed values into a `RedisTarget` with `redisTarget`.
 */
export const redisEnv = {
  /** `host:port` seeds of a Redis Cluster, comma-separated; when set, it wins over REDIS_URL. */
  REDIS_CLUSTER_NODES: clusterNodes,
  /** ACL user of every node (managed services' accounts); a user in REDIS_URL wins. */
  REDIS_USERNAME: z.preprocess(emptyIsUnset, z.string().optional()),
  /** Password of every node; a password in REDIS_URL wins. */
  REDIS_PASSWORD: z.preprocess(emptyIsUnset, z.string().optional()),
  /** `1`: TLS to every node (`rediss://` in REDIS_URL turns it on too). */
  REDIS_TLS: env.bool(false),
  /** A cluster behind NAT: `announced-host:port=reachable-host:port`, comma-separated. */
  REDIS_NAT_MAP: natMap,
};

/** The parsed `redisEnv` fields and `REDIS_URL`. */
interface RedisEnv {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES: HostPort[];
  REDIS_USERNAME?: string;
  REDIS_PASSWORD?: string;
  REDIS_TLS: boolean;
  REDIS_NAT_MAP: Record<string, HostPort>;
}

/** Where Redis is, from a schema's parsed `redisEnv` fields and `REDIS_URL`; adds an issue for a NAT map without a cluster. */
export function redisTarget(c: RedisEnv, ctx?: z.RefinementCtx): RedisTarget {
  if (c.REDIS_CLUSTER_NODES.length === 0 && Object.keys(c.REDIS_NAT_MAP).length > 0) {
    ctx?.addIssue({ code: 'custom', path: ['REDIS_NAT_MAP'], message: 'maps cluster node addresses: set REDIS_CLUSTER_NODES too' });
  }
  return {
    url: c.REDIS_URL,
    ...(c.REDIS_CLUSTER_NODES.length ? { clusterNodes: c.REDIS_CLUSTER_NODES } : {}),
    ...(c.REDIS_USERNAME ? { username: c.REDIS_USERNAME } : {}),
    ...(c.REDIS_PASSWORD ? { password: c.REDIS_PASSWORD } : {}),
    ...(c.REDIS_TLS ? { tls: true } : {}),
    ...(Object.keys(c.REDIS_NAT_MAP).length ? { natMap: c.REDIS_NAT_MAP } : {}),
  };
}
