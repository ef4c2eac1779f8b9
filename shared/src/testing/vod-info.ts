import { callPop, type PopCallOptions } from '../alibaba/pop-client.js';
import type { Credential } from '../alibaba/credential.js';
import { VOD_VERSION } from '../alibaba/vod.client.js';

/**
 * VOD GetVideoInfo through openapi-core, for tests that check what a job registered in VOD and
 * what a credential may read there (the product itself never reads a video back).
 */
export async function getVideoInfo(
  opts: PopCallOptions,
  credential: Credential,
  videoId: string,
): Promise<{ videoId: string; status: string; size?: number; title?: string }> {
  const body = await callPop(opts, credential, VOD_VERSION, 'GetVideoInfo', { VideoId: videoId });
  const v = (body.Video ?? {}) as { VideoId?: string; Status?: string; Size?: number; Title?: string };
  return { videoId: String(v.VideoId ?? videoId), status: String(v.Status ?? ''), size: v.Size, title: v.Title };
}
