import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { AppError, LuaScript, route, type Logger } from '@vod-ingest/shared';
import { callerOf } from './api-keys.js';
import { redisCall, redisKeys } from './redis-keys.js';

export interface RateLimitOptions {
  /** Requests allowed per window per API key. */
  limit: number;
  windowSeconds: number;
  /** Names the counters, so limits on different routes count apart. Defaults to `credentials`. */
  scope?: string;
  /** A tenant's own limit (its `rateLimits` in the tenants file), when it has one. */
  limitFor?: (tenant: string) => number | undefined;
}

/** 429: too many requests in this window; `Retry-After` says when the next one starts. */
export class RateLimitedError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('RATE_LIMITED', `Too many requests; try again in ${retryAfterSeconds} s`, { status: 429, retryable: true });
  }
}

/** INCR, and the window's expiry set by the request that opened it: one round trip, two commands. */
const HIT = new LuaScript(
  `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIREAT', KEYS[1], ARGV[1]) end
return n`,
  1,
);

/**
 * Counts one request of the caller's API key in the current fixed window, in Redis, so the limit
 * holds across api replicas. Returns the count so far.
 */
async function hit(redis: Redis, key: string, windowEndsAt: number): Promise<number> {
  return redisCall(HIT.run<number>(redis, [key], [windowEndsAt + 1000]));
}

/**
 * Middleware (after `requireApiKey`): fixed-window limit per API key, `RateLimit-*` headers on
 * every answer, 429 `RATE_LIMITED` with `Retry-After` over the limit, 503 when Redis is away.
 */
export function rateLimit(redis: Redis, options: RateLimitOptions, log: Logger): RequestHandler {
  const windowMs = options.windowSeconds * 1000;
  return route(async (_req, res, next) => {
    const { tenant, keyId } = callerOf(res);
    const limit = options.limitFor?.(tenant) ?? options.limit;
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    const endsAt = (window + 1) * windowMs;
    const count = await hit(redis, redisKeys.rateLimit(`${options.scope ?? 'credentials'}:${keyId}`, window), endsAt);
    const resetSeconds = Math.max(1, Math.ceil((endsAt - now) / 1000));
    res.set({
      'ratelimit-limit': String(limit),
      'ratelimit-remaining': String(Math.max(0, limit - count)),
      'ratelimit-reset': String(resetSeconds),
    });
    if (count <= limit) return next();
    // Once per window and key, not once per refused request.
    if (count === limit + 1) log.warn({ tenant, keyId, scope: options.scope ?? 'credentials', limit }, 'RateLimitExceeded');
    next(new RateLimitedError(resetSeconds));
  });
}
