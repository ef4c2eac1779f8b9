import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { createBaseApp, finishApp, requireBearer, route, TENANT_NAME, ValidationError, type Logger } from '@vod-ingest/shared';
import { credentialKey, isCredentialScope } from './profiles.js';
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
 * The internal credential API: `GET /v1/credentials/{profile}[?tenant=<name>[&scope=vod|object:<bucket>/<key>]][&rejected=<accessKeyId>]`
 * with the service bearer secret → the profile's current STS credential; with `tenant`, the one
 * scoped to that tenant by its session policy; with `scope`, narrower still (one object, or VOD only).
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
      if (profile.includes('/')) throw new ValidationError('profile is invalid', [{ field: 'profile', problem: 'format' }]);
      const rejected = req.query.rejected;
      if (rejected !== undefined && (typeof rejected !== 'string' || !/^[\w.-]{1,128}$/.test(rejected))) {
        throw new ValidationError('rejected must be an access key id', [{ field: 'rejected', problem: 'format' }]);
      }
      const tenant = req.query.tenant;
      if (tenant !== undefined && (typeof tenant !== 'string' || !TENANT_NAME.test(tenant))) {
        throw new ValidationError('tenant must be a tenant name', [{ field: 'tenant', problem: 'format' }]);
      }
      const scope = req.query.scope;
      if (scope !== undefined && (typeof scope !== 'string' || !isCredentialScope(scope) || tenant === undefined)) {
        throw new ValidationError('scope must be vod or object:<bucket>/<key>, with a tenant', [{ field: 'scope', problem: 'format' }]);
      }
      const c = await deps.broker.get(credentialKey(profile, tenant, scope), rejected);
      res.set('cache-control', 'no-store');
      res.json({ accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: c.securityToken, expiration: c.expiration, region: c.region });
    }),
  );
  return finishApp(app, deps.log);
}
