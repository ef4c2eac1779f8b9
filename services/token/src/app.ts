import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { createBaseApp, finishApp, requireBearer, route, ValidationError, type Logger } from '@vod-ingest/shared';
import type { TokenBroker } from './token-broker.js';

export interface TokenAppDeps {
  log: Logger;
  registry: Registry;
  redis: Redis;
  broker: TokenBroker;
  /** TOKEN_SERVICE_SECRET: the bearer secret internal callers present. */
  serviceSecret: string;
}

/**
 * The internal credential API: `GET /v1/credentials/{profile}[?rejected=<accessKeyId>]` with the
 * service bearer secret → the profile's current STS credential.
 */
export function createApp(deps: TokenAppDeps): Express {
  const app = createBaseApp({
    log: deps.log,
    registry: deps.registry,
    readiness: { redis: async () => void (await deps.redis.ping()) },
  });
  app.get(
    '/v1/credentials/:profile',
    requireBearer(deps.serviceSecret),
    route(async (req, res) => {
      const profile = String(req.params.profile);
      const rejected = req.query.rejected;
      if (rejected !== undefined && (typeof rejected !== 'string' || !/^[\w.-]{1,128}$/.test(rejected))) {
        throw new ValidationError('rejected must be an access key id', [{ field: 'rejected', problem: 'format' }]);
      }
      const c = await deps.broker.get(profile, rejected);
      res.set('cache-control', 'no-store');
      res.json({ accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: c.securityToken, expiration: c.expiration, region: c.region });
    }),
  );
  return finishApp(app, deps.log);
}
