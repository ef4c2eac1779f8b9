import type { RequestHandler } from 'express';
import { AppError, type Tenants } from '@vod-ingest/shared';
import { callerOf } from './api-keys.js';

/** The endpoints a browser calls (direct uploads' client endpoints): the only ones with CORS. */
export const CLIENT_PATHS = ['/v1/sts-tokens', '/v1/vod/upload-auth', '/v1/vod/upload-auth/:videoId/refresh', '/v1/uploads/:id', '/v1/uploads/:id/complete'];

const EXPOSED = 'RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After';

/**
 * CORS from the tenants' allowed `origins`. A preflight carries no credentials, so it is answered
 * before authentication for any origin some tenant allows; the real request then gets
 * `Access-Control-Allow-Origin` only when the caller's own tenant allows its origin (and, for a
 * client token bound to an origin, only that one). Other origins get no CORS headers: the browser
 * withholds the answer.
 */
export function clientCors(tenants: Tenants): { preflight: RequestHandler; actual: RequestHandler } {
  // Tenants are configuration, read once at start-up: so is the union of their origins.
  const anyTenant = new Set(tenants.list().flatMap((t) => t.origins));
  const preflight: RequestHandler = (req, res) => {
    const origin = req.headers.origin;
    res.vary('Origin');
    if (origin && anyTenant.has(origin)) {
      res.set({
        'access-control-allow-origin': origin,
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': 'authorization, content-type',
        'access-control-max-age': '600',
      });
    }
    res.status(204).end();
  };
  const actual: RequestHandler = (req, res, next) => {
    const origin = req.headers.origin;
    res.vary('Origin');
    if (!origin) return next();
    const caller = callerOf(res);
    if (caller.upload?.origin && caller.upload.origin !== origin) {
      return next(new AppError('ORIGIN_NOT_ALLOWED', 'This client token is bound to another origin', { status: 403 }));
    }
    if (tenants.get(caller.tenant).origins.includes(origin)) {
      res.set({ 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED });
    }
    next();
  };
  return { preflight, actual };
}
