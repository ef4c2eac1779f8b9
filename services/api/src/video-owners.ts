import type { Redis } from 'ioredis';
import { type ApiRedisKeys, redisCall, redisKeys } from './redis-keys.js';

/** How long the api remembers which tenant created a video (refreshes are allowed that long). */
export const VIDEO_OWNER_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Which tenant created which VOD video through this api, so that one tenant cannot refresh the
 * upload credentials (and so overwrite the media) of another tenant's video.
 */
export class VideoOwners {
  private readonly keys: ApiRedisKeys;

  constructor(
    private readonly redis: Redis,
    /** KEY_PREFIX: the key shares the slot of every other key of the service. */
    prefix: string,
    private readonly ttlSeconds = VIDEO_OWNER_TTL_SECONDS,
  ) {
    this.keys = redisKeys(prefix);
  }

  async record(videoId: string, tenant: string): Promise<void> {
    await redisCall(this.redis.set(this.keys.videoOwner(videoId), tenant, 'EX', this.ttlSeconds));
  }

  async isOwner(videoId: string, tenant: string): Promise<boolean> {
    return (await redisCall(this.redis.get(this.keys.videoOwner(videoId)))) === tenant;
  }
}
