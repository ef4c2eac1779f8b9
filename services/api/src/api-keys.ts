import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { bearerToken, route, UnauthorizedError, type UploadRecord, type UploadStore } from '@vod-ingest/shared';
import { redisCall } from './redis-keys.js';

/** A configured API key: its tenant and the SHA-256 of the key. The key itself is not kept. */
export interface ApiKey {
  tenant: string;
  sha256: Buffer;
}

/** Who is calling, as `requireApiKey` found out; kept in `res.locals.caller`. */
export interface Caller {
  tenant: string;
  /** A short, stable id of the API key (a SHA-256 prefix), or `upload:<id>` for a client token; for rate-limit keys and logs. */
  keyId: string;
  /** Set when the caller presented a direct upload's client token: it may act on that upload only. */
  upload?: UploadRecord;
}

const TENANT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const HASHED = /^sha256:([0-9a-f]{64})$/i;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Parses `API_KEYS`: comma-separated `tenant:key` or `tenant:sha256:<64 hex>` (the SHA-256 of the
 * key, so that the key need not sit in configuration). Problems never quote a key.
 */
export function parseApiKeys(value: string): { keys: ApiKey[]; problems: string[] } {
  const keys: ApiKey[] = [];
  const problems: string[] = [];
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  entries.forEach((entry, i) => {
    const colon = entry.indexOf(':');
    const tenant = entry.slice(0, colon);
    const secret = entry.slice(colon + 1);
    if (colon < 0 || !secret) return void problems.push(`entry ${i + 1}: expected tenant:key or tenant:sha256:<64 hex>`);
    if (!TENANT.test(tenant)) return void problems.push(`entry ${i + 1}: tenant must be 1-64 of A-Z a-z 0-9 _ . -`);
    const hashed = HASHED.exec(secret);
    if (!hashed && secret.startsWith('sha256:')) return void problems.push(`entry ${i + 1} (${tenant}): sha256: must be followed by 64 hex digits`);
    const digest = hashed ? Buffer.from(hashed[1], 'hex') : sha256(secret);
    if (keys.some((k) => k.sha256.equals(digest))) return void problems.push(`entry ${i + 1} (${tenant}): the same key is configured twice`);
    keys.push({ tenant, sha256: digest });
  });
  if (entries.length === 0) problems.push('at least one tenant:key is required');
  return { keys, problems };
}

/** The configured key matching `presented`, compared in constant time against every key. */
function match(keys: readonly ApiKey[], presented: string): ApiKey | undefined {
  const digest = sha256(presented);
  let found: ApiKey | undefined;
  for (const key of keys) {
    // No early exit: the time taken does not tell which (or whether a) key matched.
    if (timingSafeEqual(key.sha256, digest) && !found) found = key;
  }
  return found;
}

const unauthorized = (res: Response, message = 'Missing or invalid API key') => {
  res.set('www-authenticate', 'Bearer realm="vod-ingest"');
  return new UnauthorizedError(message);
};

/**
 * Middleware: `Authorization: Bearer <api key>`, or a direct upload's client token (`ct_…`) when
 * `uploads` is given, else 401 `UNAUTHORIZED`. Sets `res.locals.caller`. Routes that take API
 * keys only put `apiKeyOnly` after it.
 */
export function requireApiKey(keys: readonly ApiKey[], uploads?: UploadStore): RequestHandler {
  return route(async (req, res, next) => {
    const bearer = bearerToken(req.headers.authorization);
    const key = bearer !== undefined ? match(keys, bearer) : undefined;
    if (bearer !== undefined && !key && uploads && bearer.startsWith('ct_')) {
      const upload = await redisCall(uploads.byClientToken(bearer));
      if (!upload) return next(unauthorized(res, 'Missing, invalid or expired client token'));
      const caller: Caller = { tenant: upload.tenant, keyId: `upload:${upload.id}`, upload };
      res.locals.caller = caller;
      return next();
    }
    if (!bearer || !key) return next(unauthorized(res));
    const caller: Caller = { tenant: key.tenant, keyId: key.sha256.subarray(0, 8).toString('hex') };
    res.locals.caller = caller;
    next();
  });
}

/** After `requireApiKey`: a client token opens the client endpoints of its upload, nothing else (401). */
export const apiKeyOnly: RequestHandler = (_req, res, next) => {
  next(callerOf(res).upload ? unauthorized(res, 'A client token cannot be used here; use an API key') : undefined);
};

/** The caller `requireApiKey` authenticated. */
export function callerOf(res: Response): Caller {
  const caller = res.locals.caller as Caller | undefined;
  if (!caller) throw new UnauthorizedError();
  return caller;
}
