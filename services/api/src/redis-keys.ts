import { UnavailableError } from '@vod-ingest/shared';

/**
 * The api's own keys, under the configured `KEY_PREFIX`: its hash tag puts them in the slot of
 * every other key of the service (a Redis Cluster serves them from the same master).
 */
function keysUnder(prefix: string) {
  return {
    /** Request count of one API key (by key id, never the key) in one fixed window. */
    rateLimit: (keyId: string, window: number) => `${prefix}:ratelimit:${keyId}:${window}`,
    /** The tenant that created a VOD video through this api. */
    videoOwner: (videoId: string) => `${prefix}:vod-video:${videoId}:tenant`,
  };
}

/** The api's key builder: `redisKeys(config.KEY_PREFIX).rateLimit(keyId, window)`. */
export type ApiRedisKeys = ReturnType<typeof keysUnder>;

/** `redisKeys(prefix)`: the api's keys under the configured `KEY_PREFIX`. */
export const redisKeys = (prefix: string): ApiRedisKeys => keysUnder(prefix);

/** How long a request waits for Redis before it is answered 503. */
export const REDIS_TIMEOUT_MS = 1000;

/**
 * A Redis command on the request path: its result, or a 503 `REDIS_UNAVAILABLE` when it fails or
 * Redis does not answer within `REDIS_TIMEOUT_MS` (ioredis would otherwise hold it through its
 * reconnect attempts, seconds). Never "allow anyway".
 */
export async function redisCall<T>(command: Promise<T>, timeoutMs = REDIS_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([command, timeout]);
  } catch (cause) {
    command.catch(() => {}); // it may still fail after the timeout
    throw new UnavailableError('Redis is unavailable', { code: 'REDIS_UNAVAILABLE', retryAfterSeconds: 1, cause });
  } finally {
    clearTimeout(timer);
  }
}
