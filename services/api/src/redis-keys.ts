import { UnavailableError } from '@vod-ingest/shared';

/** Every api key in Redis starts with this hash tag, so a Redis Cluster keeps them in one slot. */
export const KEY_PREFIX = '{vod-ingest}';

export const redisKeys = {
  /** Request count of one API key (by key id, never the key) in one fixed window. */
  rateLimit: (keyId: string, window: number) => `${KEY_PREFIX}:ratelimit:${keyId}:${window}`,
  /** The tenant that created a VOD video through this api. */
  videoOwner: (videoId: string) => `${KEY_PREFIX}:vod-video:${videoId}:tenant`,
};

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
