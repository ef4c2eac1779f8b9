import type { Redis } from 'ioredis';
import { redisCall, redisKeys } from './redis-keys.js';

/** How long the api remembers which tenant created a video (refreshes are allowed that long). */
export const VIDEO_OWNER_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Which tenant created which VOD video through this api, so that one tenant cannot refresh the
 * upload credentials (and so overwrite the media) of another tenant's video.
 */
export class VideoOwners {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds = VIDEO_OWNER_TTL_SECONDS,
  ) {}

  async record(videoId: string, tenant: string): Promise<void> {
    await redisCall(this.redis.set(redisKeys.videoOwner(videoId), tenant, 'EX', this.ttlSeconds));
  }

  async isOwner(videoId: string, tenant: string): Promise<boolean> {
    return (await redisCall(this.redis.get(redisKeys.videoOwner(videoId)))) === tenant;
  }
}
