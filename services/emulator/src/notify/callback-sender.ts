import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@vod-ingest/shared';

/** A VOD event notification body: these fields always, the rest by event type. */
export interface VodEvent {
  EventTime: string;
  EventType: string;
  VideoId: string;
  Status: 'success' | 'fail';
  [field: string]: unknown;
}

export interface CallbackSenderOptions {
  /** The callback's private key; when set, every try carries X-VOD-TIMESTAMP and X-VOD-SIGNATURE. */
  privateKey?: string;
  /** Pause before each retry. Defaults to 1000 ms. */
  retryMs?: number;
  /** A try without an answer within this long is a failure. Defaults to 5000 ms (VOD's). */
  timeoutMs?: number;
  log: Logger;
  /** Clock for the timestamp header (tests). Defaults to `Date.now`. */
  now?: () => number;
}

/** Per event type: tries answered 200, tries that failed, events given up after the last try. */
export interface CallbackCounts {
  delivered: number;
  failed: number;
  dropped: number;
}

/** VOD tries a notification three times in all, then drops it. */
export const CALLBACK_TRIES = 3;

/** `X-VOD-SIGNATURE`: lower-case hex MD5 of `<callback URL>|<timestamp>|<private key>`. */
export function vodCallbackSignature(url: string, timestamp: string, privateKey: string): string {
  return createHash('md5').update(`${url}|${timestamp}|${privateKey}`).digest('hex');
}

/**
 * Delivers VOD event notifications as VOD's HTTP callback does: a JSON POST, signed when a
 * private key is set; anything but a 200 within the timeout is a failure, retried twice after a
 * pause, then dropped. Counts every outcome for the admin stats.
 */
export class CallbackSender {
  private readonly counts = new Map<string, CallbackCounts>();
  private readonly retryMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: CallbackSenderOptions) {
    this.retryMs = opts.retryMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.now = opts.now ?? Date.now;
  }

  /** Sends `event` to `url`, retrying; resolves `true` once delivered, `false` when dropped. */
  async deliver(url: string, event: VodEvent): Promise<boolean> {
    const body = JSON.stringify(event);
    for (let attempt = 1; attempt <= CALLBACK_TRIES; attempt++) {
      if (attempt > 1) await sleep(this.retryMs);
      const failure = await this.tryOnce(url, body);
      this.count(event.EventType, failure ? 'failed' : 'delivered');
      if (!failure) return true;
      this.opts.log.info({ eventType: event.EventType, videoId: event.VideoId, attempt, failure }, 'VodCallbackFailed');
    }
    this.count(event.EventType, 'dropped');
    this.opts.log.warn({ eventType: event.EventType, videoId: event.VideoId }, 'VodCallbackDropped');
    return false;
  }

  /** Counts by event type, for `GET /__emulator/stats`. */
  stats(): Record<string, CallbackCounts> {
    return Object.fromEntries([...this.counts].map(([type, c]) => [type, { ...c }]));
  }

  resetStats(): void {
    this.counts.clear();
  }

  /** One POST; resolves with why it failed, or undefined when the receiver answered 200. */
  private async tryOnce(url: string, body: string): Promise<string | undefined> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.opts.privateKey) {
      // A fresh timestamp per try, so a receiver's freshness check holds for retries too.
      const timestamp = String(Math.floor(this.now() / 1000));
      headers['x-vod-timestamp'] = timestamp;
      headers['x-vod-signature'] = vodCallbackSignature(url, timestamp, this.opts.privateKey);
    }
    try {
      const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
      await res.arrayBuffer();
      return res.status === 200 ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      return (err as Error).name === 'TimeoutError' ? 'timeout' : String((err as Error).message);
    }
  }

  private count(eventType: string, outcome: keyof CallbackCounts): void {
    const c = this.counts.get(eventType) ?? { delivered: 0, failed: 0, dropped: 0 };
    c[outcome]++;
    this.counts.set(eventType, c);
  }
}
