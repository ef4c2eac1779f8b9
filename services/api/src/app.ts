import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { createBaseApp, finishApp, type CredentialSource, type Logger, type VodApi } from '@vod-ingest/shared';
import { requireApiKey, type ApiKey } from './api-keys.js';
import { credentialRoutes } from './credentials.routes.js';
import { rateLimit, type RateLimitOptions } from './rate-limit.js';
import { VideoOwners } from './video-owners.js';

export interface AppDeps {
  log: Logger;
  registry: Registry;
  /** A request-path connection (`createRedis(url, { blocking: false })`). */
  redis: Redis;
  apiKeys: readonly ApiKey[];
  /** STS credentials of the token service's `client` profile. */
  credentials: CredentialSource;
  vod: VodApi;
  /** Per-API-key limit on the credential endpoints. */
  rateLimit: RateLimitOptions;
}

/** The public HTTP API: everything under `/v1` needs an API key. */
export function createApp(deps: AppDeps): Express {
  const app = createBaseApp({
    log: deps.log,
    registry: deps.registry,
    readiness: {
      redis: async () => void (await deps.redis.ping()),
      tokenService: async () => void (await deps.credentials.get()),
    },
  });
  app.use('/v1', requireApiKey(deps.apiKeys));
  app.use(
    credentialRoutes({
      log: deps.log,
      credentials: deps.credentials,
      vod: deps.vod,
      owners: new VideoOwners(deps.redis),
      limit: rateLimit(deps.redis, deps.rateLimit, deps.log),
    }),
  );
  return finishApp(app, deps.log);
}
