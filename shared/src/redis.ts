import { Redis, type RedisOptions } from 'ioredis';

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
  return new Redis(url, redisOptions);
}
