import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import {
  DEFAULT_SMALL_JOB_BYTES,
  env,
  KEY_PREFIX,
  MAX_REDIS_SHARDS,
  redisEnv,
  redisTarget,
  shorthandTenant,
  Tenants,
  tenantsFileVar,
  type Tenant,
} from '@vod-ingest/shared';
import { parseApiKeys, type ApiKey } from './api-keys.js';

const apiKeys = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === '') return [];
    const { keys, problems } = parseApiKeys(value);
    for (const message of problems) ctx.addIssue({ code: 'custom', message });
    return keys;
  });

/**
 * Every tenant and API key: the tenants file's, plus `API_KEYS` — a tenant only there is a VOD
 * tenant with no OSS target; one named in both takes its keys from both and its rights from the file.
 */
function mergeTenants(fromFile: Tenant[], shorthand: ApiKey[]): { tenants: Tenants; keys: ApiKey[]; problems: string[] } {
  const byName = new Map(fromFile.map((t) => [t.name, { ...t, apiKeys: [...t.apiKeys] }]));
  for (const k of shorthand) {
    const t = byName.get(k.tenant) ?? shorthandTenant(k.tenant);
    t.apiKeys.push(k.sha256);
    byName.set(k.tenant, t);
  }
  const keys = [...byName.values()].flatMap((t) => t.apiKeys.map((sha256) => ({ tenant: t.name, sha256 })));
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const k of keys) {
    const hex = k.sha256.toString('hex');
    const other = seen.get(hex);
    if (other !== undefined && other !== k.tenant) problems.push(`the same API key belongs to tenants ${other} and ${k.tenant}`);
    seen.set(hex, k.tenant);
  }
  if (keys.length === 0) problems.push('no API key: set API_KEYS (tenant:key pairs) or TENANTS_FILE with apiKeys');
  const unique = keys.filter((k, i) => keys.findIndex((o) => o.sha256.equals(k.sha256)) === i);
  return { tenants: new Tenants([...byName.values()]), keys: unique, problems };
}

const absoluteDirs = env.list([]).refine((dirs) => dirs.every((d) => path.isAbsolute(d)), 'every entry must be an absolute directory');
const hosts = env.list([]).transform((list) => list.map((h) => h.replace(/^\[|\]$/g, '').toLowerCase()));
const key32 = z
  .string()
  .refine((v) => /^[A-Za-z0-9+/]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64')
  .optional();
// Empty counts as unset, as `ADMIN_TOKEN=${ADMIN_TOKEN:-}` in a compose file gives. Messages never quote the value.
const adminToken = z.preprocess(
  (v) => (v === '' ? undefined : v),
  z
    .string()
    .min(16, 'must be at least 16 characters')
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
);

/** The api's environment. Defaults suit `npm start` against the emulator. */
export const apiConfigSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).optional(),
    API_PORT: env.port(3000),
    HOST: z.string().default('0.0.0.0'),
    REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
    ...redisEnv,
    /** `tenant:key` or `tenant:sha256:<64 hex>` pairs, comma-separated: VOD tenants without OSS targets (see TENANTS_FILE). */
    API_KEYS: apiKeys,
    /** Tenants (JSON or YAML): API key digests, OSS places, VOD use, browser origins, rate limits. */
    TENANTS_FILE: tenantsFileVar,
    TOKEN_SERVICE_URL: z.string().url().default('http://127.0.0.1:3001'),
    TOKEN_SERVICE_SECRET: z.string({ error: 'required: the token service bearer secret' }).min(1),
    /** OSS endpoint of direct uploads to OSS (checked at /complete); defaults to `https://oss-<region>.aliyuncs.com`. */
    OSS_ENDPOINT: z.string().url().optional(),
    /** Path-style OSS requests (an emulator reached by host name); unset: only for localhost endpoints. */
    OSS_PATH_STYLE: env.bool(false),
    /** VOD endpoint; defaults to `vod.<region>.aliyuncs.com`. The emulator's is `http://localhost:9100`. */
    VOD_ENDPOINT: z.string().min(1).optional(),
    ALIBABA_CLOUD_REGION_ID: z
      .string()
      .regex(/^[a-z]{2,}-[a-z0-9-]+$/, 'a region id such as cn-shanghai')
      .default('cn-shanghai'),
    /** Requests per window per API key on the credential endpoints. */
    API_RATE_LIMIT: env.int(60, 1),
    API_RATE_WINDOW_SECONDS: env.int(60, 1, 86_400),
    /** Job submissions per window per API key (a ceiling against runaway clients, not a quota). */
    JOB_RATE_LIMIT: env.int(6000, 1),
    /** Directories a `file` source may come from, comma-separated. Empty (the default) refuses file sources. */
    INGEST_ROOTS: absoluteDirs,
    /** Hosts a `url` source or `callbackUrl` may reach even when private or loopback. */
    URL_ALLOWLIST: hosts,
    /** 32 bytes (base64) sealing url source headers in job records; without it, sources with headers are refused. */
    SOURCE_HEADERS_KEY: key32,
    /** Prefix of every key and of the BullMQ queues; must carry a Redis Cluster hash tag (`{…}`). */
    KEY_PREFIX: env.keyPrefix(KEY_PREFIX),
    /** Shards the ingest queues, job records and events are split into, each under a hash tag of its own (a slot; N masters share N shards). Every api and worker must use the same; changing it moves the shards (drain first). */
    REDIS_SHARDS: env.int(1, 1, MAX_REDIS_SHARDS),
    /** Approximate length the global event stream `{prefix}:events` is trimmed to (XADD MAXLEN ~): how many events a webhook dispatcher outage may leave behind before the oldest are lost. */
    EVENTS_MAXLEN: env.int(100_000, 1000, 100_000_000),
    /** Days a finished job (or direct upload) is kept, with its events and its place in the tenant's list. */
    JOB_RETENTION_DAYS: env.int(7, 1, 3650),
    /** Tries per ingest job before it fails. */
    JOB_ATTEMPTS: env.int(5, 1, 100),
    /** First retry delay of an ingest job (doubling). */
    JOB_BACKOFF_SECONDS: env.int(5, 1, 86_400),
    /** File sources up to this many bytes go to the small ingest lane (`ingest-small`), which every worker serves with slots of its own (WORKER_SMALL_CONCURRENCY); 0 puts every job on the main lane. */
    SMALL_JOB_BYTES: env.int(DEFAULT_SMALL_JOB_BYTES, 0),
    /** Open event streams per tenant per api process. */
    SSE_MAX_PER_TENANT: env.int(100, 1, 100_000),
    /** Bearer token (or Basic `admin:<token>`) of the queue dashboard at `/admin/queues`; unset (the default) leaves it unmounted. */
    ADMIN_TOKEN: adminToken,
    /** `1` lets the dashboard retry, clean, pause and remove jobs; read-only by default. */
    ADMIN_QUEUES_WRITABLE: env.bool(false),
    /** Private key of VOD's signed event notifications (`POST /v1/vod/events`); unset: the route is off. */
    VOD_CALLBACK_KEY: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(8, 'must be at least 8 characters').optional()),
    /** The callback URL as set in VOD's console (it is part of the signature); default: the URL the request reached. */
    VOD_CALLBACK_URL: z.preprocess((v) => (v === '' ? undefined : v), z.string().url().optional()),
    LOG_LEVEL: env.logLevel(),
  })
  .transform((c, ctx) => {
    const merged = mergeTenants(c.TENANTS_FILE, c.API_KEYS);
    for (const message of merged.problems) ctx.addIssue({ code: 'custom', path: ['API_KEYS'], message });
    if (c.ADMIN_TOKEN && merged.keys.some((k) => k.sha256.equals(createHash('sha256').update(c.ADMIN_TOKEN!, 'utf8').digest()))) {
      ctx.addIssue({ code: 'custom', path: ['ADMIN_TOKEN'], message: 'must not be one of the API_KEYS' });
    }
    return { ...c, tenants: merged.tenants, apiKeys: merged.keys, redis: redisTarget(c, ctx) };
  })
  .transform((c) => ({
    ...c,
    port: c.PORT ?? c.API_PORT,
    vodEndpoint: c.VOD_ENDPOINT ?? `vod.${c.ALIBABA_CLOUD_REGION_ID}.aliyuncs.com`,
    ossEndpoint: c.OSS_ENDPOINT ?? `https://oss-${c.ALIBABA_CLOUD_REGION_ID}.aliyuncs.com`,
  }));

export type ApiConfig = z.infer<typeof apiConfigSchema>;
