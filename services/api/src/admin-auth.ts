import { AppError, bearerToken, safeEqual, UnauthorizedError } from '@vod-ingest/shared';
import type { RequestHandler } from 'express';

/** The user name HTTP Basic must carry; the password is the admin token. */
export const ADMIN_USER = 'admin';

const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What `authorization` presents: a bearer token, or the user and password of HTTP Basic. */
function presented(authorization = ''): { user?: string; token: string } | undefined {
  const bearer = bearerToken(authorization);
  if (bearer !== undefined) return { token: bearer };
  const basic = BASIC.exec(authorization);
  const decoded = basic ? Buffer.from(basic[1], 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), token: decoded.slice(colon + 1) };
}

/**
 * Middleware for the operator pages: `Authorization: Bearer <token>`, or HTTP Basic
 * `admin:<token>` so that a browser can log in; else 401 with a Basic challenge. API keys of
 * tenants are not accepted. State-changing requests sent by a browser from another site are
 * refused (403): a browser replays Basic credentials on cross-site form posts.
 */
export function requireAdminToken(token: string): RequestHandler {
  return (req, res, next) => {
    const given = presented(req.headers.authorization);
    // Both parts are always compared, so a wrong user name takes as long as a wrong token.
    const tokenOk = given !== undefined && safeEqual(given.token, token);
    const userOk = given?.user === undefined || safeEqual(given.user, ADMIN_USER);
    if (!tokenOk || !userOk) {
      res.set('www-authenticate', 'Basic realm="vod-ingest admin"');
      return next(new UnauthorizedError('Missing or invalid admin credentials'));
    }
    const site = req.headers['sec-fetch-site'];
    if (!SAFE_METHODS.has(req.method) && (site === 'cross-site' || site === 'same-site')) {
      return next(new AppError('CROSS_SITE_REQUEST', 'Cross-site admin requests are refused', { status: 403 }));
    }
    res.set('cache-control', 'no-store');
    res.set('x-frame-options', 'DENY');
    next();
  };
}
