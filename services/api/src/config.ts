import { z } from 'zod';
import { env } from '@vod-ingest/shared';
import { parseApiKeys } from './api-keys.js';

const apiKeys = z.string({ error: 'required: tenant:key pairs, comma-separated' }).transform((value, ctx) => {
  const { keys, problems } = parseApiKeys(value);
  for (const message of problems) ctx.addIssue({ code: 'custom', message });
  return keys;
});

/** The api's environment. Defaults suit `npm start` against the emulator. */
export const apiConfigSchema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).optional(),
    API_PORT: env.port(3000),
    HOST: z.string().default('0.0.0.0'),
    REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
    /** `tenant:key` or `tenant:sha256:<64 hex>` pairs, comma-separated. Required. */
    API_KEYS: apiKeys,
    TOKEN_SERVICE_URL: z.string().url().default('http://127.0.0.1:3001'),
    TOKEN_SERVICE_SECRET: z.string({ error: 'required: the token service bearer secret' }).min(1),
    /** VOD endpoint; defaults to `vod.<region>.aliyuncs.com`. The emulator's is `http://localhost:9100`. */
    VOD_ENDPOINT: z.string().min(1).optional(),
    ALIBABA_CLOUD_REGION_ID: z.string().regex(/^[a-z]{2,}-[a-z0-9-]+$/, 'a region id such as cn-shanghai').default('cn-shanghai'),
    /** Requests per window per API key on the credential endpoints. */
    API_RATE_LIMIT: env.int(60, 1),
    API_RATE_WINDOW_SECONDS: env.int(60, 1, 86_400),
    LOG_LEVEL: env.logLevel(),
  })
  .transform((c) => ({
    ...c,
    port: c.PORT ?? c.API_PORT,
    vodEndpoint: c.VOD_ENDPOINT ?? `vod.${c.ALIBABA_CLOUD_REGION_ID}.aliyuncs.com`,
  }));

export type ApiConfig = z.infer<typeof apiConfigSchema>;
