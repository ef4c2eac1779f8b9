import { z } from 'zod';
import { env, KEY_PREFIX, MAX_REDIS_SHARDS, redisEnv, redisTarget, tenantsFileVar } from '@vod-ingest/shared';

const ARN = /^acs:ram::\d+:role\/[\w.@+=,-]{1,64}$/i;
const policy = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      return typeof JSON.parse(s) === 'object';
    } catch {
      return false;
    }
  }, 'must be a JSON policy document')
  .optional();

export const tokenConfigSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).optional(),
    TOKEN_PORT: env.port(3001),
    HOST: z.string().default('0.0.0.0'),
    REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
    ...redisEnv,
    /** Redis key prefix; must carry a hash tag (`{…}`), which keeps the cache's keys on one Redis Cluster slot. */
    TOKEN_KEY_PREFIX: env.keyPrefix(KEY_PREFIX),
    /** The api's and workers' REDIS_SHARDS, accepted (and checked) so one environment serves all three; the token cache is small and stays in TOKEN_KEY_PREFIX's slot. */
    REDIS_SHARDS: env.int(1, 1, MAX_REDIS_SHARDS),
    TOKEN_SERVICE_SECRET: z.string().min(16, 'must be at least 16 characters'),
    TOKEN_CACHE_KEY: z
      .string()
      .refine((s) => Buffer.from(s, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
      .optional(),
    ALIBABA_CLOUD_ACCESS_KEY_ID: z.string().min(1),
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: z.string().min(1),
    ALIBABA_CLOUD_REGION_ID: z.string().default('cn-shanghai'),
    STS_ENDPOINT: z.string().optional(),
    ALIBABA_CLOUD_ROLE_ARN: z.string().regex(ARN, 'must look like acs:ram::<account>:role/<name>'),
    CLIENT_ROLE_ARN: z.string().regex(ARN, 'must look like acs:ram::<account>:role/<name>'),
    INGEST_SESSION_NAME: z
      .string()
      .regex(/^[\w.@-]{2,64}$/)
      .default('vod-ingest-worker'),
    CLIENT_SESSION_NAME: z
      .string()
      .regex(/^[\w.@-]{2,64}$/)
      .default('vod-ingest-client'),
    INGEST_DURATION_SECONDS: env.int(3600, 900, 43200),
    CLIENT_DURATION_SECONDS: env.int(3600, 900, 43200),
    INGEST_SESSION_POLICY: policy,
    CLIENT_SESSION_POLICY: policy,
    /** Never serve a credential with less than this left (also capped at 15% of its lifetime). */
    TOKEN_SAFETY_MARGIN_SECONDS: env.int(120, 1),
    /** Refresh in the background once less than this is left (also capped at 50% of its lifetime). */
    TOKEN_REFRESH_AHEAD_SECONDS: env.int(600, 1),
    /** Tenants (JSON or YAML): each tenant's credentials are scoped to its OSS places and VOD use. */
    TENANTS_FILE: tenantsFileVar,
    LOG_LEVEL: env.logLevel(),
  })
  .transform((c, ctx) => ({
    ...c,
    redis: redisTarget(c, ctx),
    port: c.PORT ?? c.TOKEN_PORT,
    stsEndpoint: c.STS_ENDPOINT ?? `sts.${c.ALIBABA_CLOUD_REGION_ID}.aliyuncs.com`,
  }));

export type TokenConfig = z.infer<typeof tokenConfigSchema>;
