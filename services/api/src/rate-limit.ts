import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import { AppError, KEY_PREFIX, LuaScript, route, type Logger } from '@vod-ingest/shared';
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
  /** KEY_PREFIX of the counters. Defaults to `{vod-ingest}`. */
  prefix?: string;
}

/** 429: too many requests in this window; `Retry-After` says when the next one starts. */
export class RateLimitedError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super('RATE_LIMITED', `Too many requests; try again in ${retryAfterSeconds} s`, { status: 429, retryable: true });
  }
}

/** INCRBY, and the window's expiry set by the call that opened it: one round trip, two commands. */
const RESERVE = new LuaScript(
  `local n = redis.call('INCRBY', KEYS[1], ARGV[1])
if n == tonumber(ARGV[1]) then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return n`,
  1,
);

/** Most requests one reservation may cover: a larger limit counts in Redis once per this many. */
const MAX_CHUNK = 50;

/** What this process knows of one key's window: requests it may still admit without asking Redis. */
interface WindowState {
  window: number;
  /** Admissions reserved in Redis and not yet used here. */
  left: number;
  /** The window's count in Redis after our last reservation, less what we still hold. */
  counted: number;
  /** Redis said the limit is reached: refuse without asking again until the window ends. */
  full: boolean;
  pending?: Promise<void>;
}

/**
 * A fixed-window count per key shared by every api replica through Redis, reserved in chunks:
 * a process takes up to `chunk` admissions with one INCRBY and spends them locally, so a busy key
 * costs Redis one call per chunk instead of one per request. Never admits more than the limit in
 * all (a reservation past it is cut to what is left); may refuse up to (chunk − 1) × replicas
 * requests early at the end of a window, when other replicas hold unused admissions. The chunk is
 * 1% of the limit, at most 50 — a limit under 200 is counted exactly, request by request.
 */
export class ReservedCounter {
  private readonly windows = new Map<string, WindowState>();

  constructor(private readonly redis: Redis) {}

  /** Admits one request: the count of the window so far (with this one), or undefined when over `limit`. */
  async admit(key: string, window: number, limit: number, windowEndsAt: number): Promise<{ count: number } | undefined> {
    let st = this.windows.get(key);
    if (!st || st.window !== window) {
      st = { window, left: 0, counted: 0, full: false };
      this.windows.set(key, st);
      this.forgetOld(window);
    }
    while (st.left === 0 && !st.full) {
      st.pending ??= this.reserve(st, key, limit, windowEndsAt).finally(() => (st.pending = undefined));
      await st.pending;
    }
    if (st.left === 0) return undefined;
    st.left--;
    st.counted++;
    return { count: st.counted };
  }

  private async reserve(st: WindowState, key: string, limit: number, windowEndsAt: number): Promise<void> {
    const chunk = Math.min(MAX_CHUNK, Math.max(1, Math.floor(limit / 100)));
    const total = await redisCall(RESERVE.run<number>(this.redis, [key], [chunk, windowEndsAt + 1000]));
    const before = total - chunk;
    const granted = Math.max(0, Math.min(chunk, limit - before));
    st.left += granted;
    st.counted = before;
    if (granted < chunk) st.full = true;
  }

  /** Drops the state of windows that ended (keys of idle API keys would otherwise pile up). */
  private forgetOld(window: number): void {
    if (this.windows.size < 1000) return;
    for (const [k, v] of this.windows) if (v.window < window && !v.pending) this.windows.delete(k);
  }
}

/**
 * Middleware (after `requireApiKey`): fixed-window limit per API key, `RateLimit-*` headers on
 * every answer, 429 `RATE_LIMITED` with `Retry-After` over the limit, 503 when Redis is away.
 */
export function rateLimit(redis: Redis, options: RateLimitOptions, log: Logger): RequestHandler {
  const windowMs = options.windowSeconds * 1000;
  const counter = new ReservedCounter(redis);
  const keys = redisKeys(options.prefix ?? KEY_PREFIX);
  const scope = options.scope ?? 'credentials';
  const warned = new Map<string, number>();
  return route(async (_req, res, next) => {
    const { tenant, keyId } = callerOf(res);
    const limit = options.limitFor?.(tenant) ?? options.limit;
    const now = Date.now();
    const window = Math.floor(now / windowMs);
    const endsAt = (window + 1) * windowMs;
    const admitted = await counter.admit(keys.rateLimit(`${scope}:${keyId}`, window), window, limit, endsAt);
    const resetSeconds = Math.max(1, Math.ceil((endsAt - now) / 1000));
    res.set({
      'ratelimit-limit': String(limit),
      'ratelimit-remaining': String(admitted ? Math.max(0, limit - admitted.count) : 0),
      'ratelimit-reset': String(resetSeconds),
    });
    if (admitted) return next();
    // Once per window and key, not once per refused request.
    if (warned.get(keyId) !== window) {
      warned.set(keyId, window);
      log.warn({ tenant, keyId, scope, limit }, 'RateLimitExceeded');
    }
    next(new RateLimitedError(resetSeconds));
  });
}
