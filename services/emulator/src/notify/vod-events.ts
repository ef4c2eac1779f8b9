import { randomBytes } from 'node:crypto';
import { isoSeconds } from '../pop/sts.js';
import type { VodEvent } from './callback-sender.js';

/** What a video's CreateUploadVideo `UserData` asks of its notifications. */
export interface NotificationWishes {
  /** `MessageCallback.CallbackURL`: this video's events go here instead of the global URL. */
  callbackUrl?: string;
  /** `Extend`, passed through in every event as VOD does: a JSON string. */
  extend?: string;
}

/**
 * Reads `{"MessageCallback":{"CallbackURL":…},"Extend":{…}}`. The web upload SDK
 * JSON-encodes a UserData that the page may already have given as a string, so one more
 * layer of encoding is peeled off. Anything unreadable asks for nothing.
 */
export function notificationWishes(userData: string | undefined): NotificationWishes {
  let data: unknown;
  try {
    data = userData === undefined ? undefined : JSON.parse(userData);
    if (typeof data === 'string') data = JSON.parse(data);
  } catch {
    return {};
  }
  if (!data || typeof data !== 'object') return {};
  const { MessageCallback: callback, Extend: extend } = data as { MessageCallback?: { CallbackURL?: unknown }; Extend?: unknown };
  const wishes: NotificationWishes = {};
  const url = callback?.CallbackURL;
  if (typeof url === 'string' && /^https?:\/\//i.test(url)) wishes.callbackUrl = url;
  if (typeof extend === 'string') wishes.extend = extend;
  else if (extend !== undefined && extend !== null) wishes.extend = JSON.stringify(extend);
  return wishes;
}

/** The source object of a video, as its FileUploadComplete describes it. */
export interface UploadedFile {
  videoId: string;
  size: number;
  url: string;
  extend?: string;
}

/** How a simulated transcode ended. */
export type TranscodeOutcome = { ok: true } | { ok: false; code: string; message: string };

/** The one stream the emulator "transcodes" to: standard definition MP4. */
const STREAM = { Definition: 'LD', Format: 'mp4', Bitrate: '1000', Fps: '25', Width: 854, Height: 480 } as const;

function withExtend(event: VodEvent, extend: string | undefined): VodEvent {
  return extend === undefined ? event : { ...event, Extend: extend };
}

export function fileUploadComplete(file: UploadedFile, now = Date.now()): VodEvent {
  const event: VodEvent = {
    EventTime: isoSeconds(now),
    EventType: 'FileUploadComplete',
    VideoId: file.videoId,
    Size: file.size,
    FileUrl: file.url,
    Status: 'success',
  };
  return withExtend(event, file.extend);
}

/**
 * `StreamTranscodeComplete` for the one definition, then `TranscodeComplete` with it in
 * `StreamInfos`. The stream is the source itself (nothing is re-encoded), so its FileUrl plays
 * the uploaded bytes; its Duration is what those bytes last at the stream's bitrate.
 */
export function transcodeEvents(file: UploadedFile, outcome: TranscodeOutcome, now = Date.now()): [VodEvent, VodEvent] {
  const status = outcome.ok ? 'success' : 'fail';
  const jobId = randomBytes(16).toString('hex');
  const stream: Record<string, unknown> = outcome.ok
    ? {
        Status: status,
        ...STREAM,
        Duration: Math.round(((file.size * 8) / (Number(STREAM.Bitrate) * 1000)) * 1000) / 1000,
        Size: file.size,
        FileUrl: file.url,
        Encrypt: false,
        JobId: jobId,
      }
    : { Status: status, Definition: STREAM.Definition, Format: STREAM.Format, ErrorCode: outcome.code, ErrorMessage: outcome.message, JobId: jobId };
  const eventTime = isoSeconds(now);
  const streamEvent: VodEvent = { EventTime: eventTime, EventType: 'StreamTranscodeComplete', VideoId: file.videoId, ...stream, Status: status };
  const allEvent: VodEvent = { EventTime: eventTime, EventType: 'TranscodeComplete', VideoId: file.videoId, Status: status, StreamInfos: [stream] };
  return [withExtend(streamEvent, file.extend), withExtend(allEvent, file.extend)];
}
