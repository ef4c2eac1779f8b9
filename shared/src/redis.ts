import { Redis, type RedisOptions } from 'ioredis';
import { AppError } from './errors.js';
import { safeUrl, type Logger } from './logger.js';

/** Options for `createRedis`. */
export interface CreateRedisOptions {
  /**
   * For BullMQ workers and blocking commands: never fail a command because Redis is briefly
   * away (`maxRetriesPerRequest: null`), so a Redis restart pauses work instead of failing it.
   * Defaults to true. Set false for request-path clients that must fail fast: they also get a
   * 2 s per-command timeout instead of waiting through reconnects.
   */
  blocking?: boolean;
  /** Connection name shown by `CLIENT LIST`. */
  name?: string;
  /**
   * Where connection errors go, as `RedisError` with `code`, at most one line per
   * `errorLogIntervalMs` (the errors in between are counted in the next line's `suppressed`).
   * Without it they are dropped — never left to ioredis's "Unhandled error event".
   */
  log?: Logger;
  /** Least time between two `RedisError` lines. Defaults to 30 s. */
  errorLogIntervalMs?: number;
}

/**
 * A Redis connection with the options BullMQ requires and reconnects that back off up to 2 s.
 * `REDIS_URL` forms: `redis://[:password@]host:port[/db]`, `rediss://` for TLS.
 */
export function createRedis(url: string, options: CreateRedisOptions = {}): Redis {
  const blocking = options.blocking ?? true;
  const redisOptions: RedisOptions = {
    connectionName: options.name,
    maxRetriesPerRequest: blocking ? null : 2,
    commandTimeout: blocking ? undefined : 2000,
    enableReadyCheck: true,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  };
  const redis = new Redis(url, redisOptions);
  redis.on('error', boundedErrorLog(options.log, options.name, options.errorLogIntervalMs ?? 30_000));
  return redis;
}

/** An error listener that logs the first error at once, then at most one line per `intervalMs`. */
function boundedErrorLog(log: Logger | undefined, name: string | undefined, intervalMs: number): (err: Error) => void {
  let last = 0;
  let suppressed = 0;
  return (err) => {
    if (!log) return;
    if (Date.now() - last < intervalMs) {
      suppressed++;
      return;
    }
    last = Date.now();
    log.warn({ connection: name, code: errorCode(err), suppressed }, 'RedisError');
    suppressed = 0;
  };
}

const errorCode = (err: Error) => (err as { code?: string }).code ?? err.message.split(/\s/)[0];

/**
 * For start-up: resolves once `redis` is ready, or rejects after `timeoutMs` (default 5 s) with
 * `REDIS_UNREACHABLE` and a one-line message naming the URL (without credentials) and the last
 * connection error, e.g. `cannot reach Redis at redis://127.0.0.1:6390: ECONNREFUSED`.
 */
export function waitForRedis(redis: Redis, url: string, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (err: Error) => (lastError = err);
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
    };
    const onReady = () => (done(), resolve());
    const timer = setTimeout(() => {
      done();
      const why = lastError ? errorCode(lastError) : `no answer within ${timeoutMs / 1000} s`;
      reject(new AppError('REDIS_UNREACHABLE', `cannot reach Redis at ${safeUrl(url)}: ${why}`, { status: 503, retryable: true, cause: lastError }));
    }, timeoutMs);
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}
