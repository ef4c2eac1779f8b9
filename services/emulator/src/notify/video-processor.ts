import type { Logger } from '@vod-ingest/shared';
import type { FaultDecision, FaultInjector } from '../faults.js';
import type { CompletedObject } from '../oss/handler.js';
import type { VideoStore } from '../pop/video-store.js';
import type { CallbackSender, VodEvent } from './callback-sender.js';
import { fileUploadComplete, notificationWishes, transcodeEvents, type TranscodeOutcome, type UploadedFile } from './vod-events.js';

export interface VideoProcessorOptions {
  videos: VideoStore;
  faults: FaultInjector;
  sender: CallbackSender;
  /**
   * EMULATOR_VOD_CALLBACK_URL. Without it nothing is sent and no processing is simulated:
   * videos stay `UploadSucc`, as before notifications existed. With it, a video's own
   * `MessageCallback.CallbackURL` may override it (VOD, too, honours those only when the
   * region's HTTP callback is on).
   */
  callbackUrl?: string;
  /** How long a simulated transcode takes (EMULATOR_VOD_PROCESSING_MS). */
  processingMs: number;
  log: Logger;
}

/**
 * What VOD does once a video's source file is in its bucket: `UploadSucc` and a
 * `FileUploadComplete` notification, then `Transcoding` for the processing time, then `Normal`
 * (or `TranscodeFail` when a `Transcode` fault rule says so) with `StreamTranscodeComplete` and
 * `TranscodeComplete`. A video's notifications go out one after another, in that order, each
 * delivered or dropped before the next is tried.
 */
export class VideoProcessor {
  /** Per video, the tail of its notification queue. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Per video, which upload of its file is being processed: a re-upload supersedes the last. */
  private readonly uploads = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: VideoProcessorOptions) {}

  /** The OSS front end's hook: `object` has just become complete. */
  async objectCompleted(object: CompletedObject): Promise<void> {
    const video = this.opts.videos.byObject(object.bucket, object.key);
    if (!video) return;
    await this.opts.videos.setStatus(video.videoId, 'UploadSucc');
    if (!this.opts.callbackUrl) return;
    const wishes = notificationWishes(video.userData);
    const url = wishes.callbackUrl ?? this.opts.callbackUrl;
    const file: UploadedFile = { videoId: video.videoId, size: object.size, url: object.url, extend: wishes.extend };
    this.enqueue(url, fileUploadComplete(file));

    const upload = (this.uploads.get(video.videoId) ?? 0) + 1;
    this.uploads.set(video.videoId, upload);
    const fault = this.opts.faults.decide('Transcode', { internal: true });
    await this.opts.videos.setStatus(video.videoId, 'Transcoding');
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.finishTranscode(file, url, upload, fault).catch((err: unknown) => this.opts.log.error({ err, videoId: file.videoId }, 'TranscodeSimulationFailed'));
    }, this.opts.processingMs + fault.latencyMs);
    this.timers.add(timer);
  }

  /** Stops pending transcodes (shutdown); queued notifications still run out. */
  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async finishTranscode(file: UploadedFile, url: string, upload: number, fault: FaultDecision): Promise<void> {
    if (this.uploads.get(file.videoId) !== upload) return; // a newer upload's transcode reports instead
    const outcome: TranscodeOutcome =
      fault.error || fault.drop ? { ok: false, code: fault.error?.code ?? 'InternalError', message: fault.error?.message ?? 'Injected fault.' } : { ok: true };
    await this.opts.videos.setStatus(file.videoId, outcome.ok ? 'Normal' : 'TranscodeFail');
    this.opts.log.info({ videoId: file.videoId, ok: outcome.ok }, 'TranscodeSimulated');
    for (const event of transcodeEvents(file, outcome)) this.enqueue(url, event);
  }

  private enqueue(url: string, event: VodEvent): void {
    const { VideoId: videoId } = event;
    const previous = this.queues.get(videoId) ?? Promise.resolve();
    const next = previous
      .then(() => this.opts.sender.deliver(url, event))
      .then(
        () => undefined,
        (err: unknown) => this.opts.log.error({ err, videoId }, 'VodCallbackCrashed'),
      );
    this.queues.set(videoId, next);
    void next.finally(() => {
      if (this.queues.get(videoId) === next) this.queues.delete(videoId);
    });
  }
}
