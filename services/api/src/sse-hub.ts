import type { Redis } from 'ioredis';
import type { JobEvent, Logger } from '@vod-ingest/shared';
import { redisCall } from './redis-keys.js';

/** One open event stream's ears: its job's events as they are written, and the end of the hub. */
export interface HubListener {
  event(event: JobEvent): void;
  /** The hub is closing (shutdown): end the stream. */
  end(): void;
}

export interface SseHubOptions {
  /** A new blocking connection (`createRedis(url, { blocking: true })`), owned by the hub. */
  connect: () => Redis;
  /** The global event streams, one per shard (`JobStore.shardKeys[i].events`). */
  streamKeys: readonly string[];
  log: Logger;
  /** How long one XREAD blocks. Defaults to 5000 ms. */
  blockMs?: number;
}

/**
 * The one reader of the global event streams in an api process, for every SSE subscriber: one
 * blocking XREAD loop per stream (a shard's; started with the first subscriber, stopped after the
 * last), fanned out by job id in-process. Each loop has its own connection: streams of different
 * shards live in different slots, which one XREAD cannot span on a Redis Cluster. It survives
 * Redis restarts: the connection reconnects and reading goes on from the last id seen.
 */
export class SseHub {
  private readonly listeners = new Map<string, Set<HubListener>>();
  private reader?: StreamReaders;

  constructor(private readonly options: SseHubOptions) {}

  /**
   * Adds `listener` for `jobId`'s events. Resolves once every event written from then on will
   * reach it (so a caller that reads history after this misses nothing); 503 when Redis is away.
   */
  async subscribe(jobId: string, listener: HubListener): Promise<() => void> {
    const set = this.listeners.get(jobId) ?? new Set();
    set.add(listener);
    this.listeners.set(jobId, set);
    const unsubscribe = () => this.unsubscribe(jobId, listener);
    const reader = (this.reader ??= new StreamReaders(this.options, (id, event) => this.dispatch(id, event)));
    try {
      await reader.ready;
    } catch (err) {
      unsubscribe();
      if (this.reader === reader) this.stopReader(); // the next subscriber tries a fresh one
      throw err;
    }
    return unsubscribe;
  }

  /** Ends every stream and stops reading (shutdown). */
  close(): void {
    const all = [...this.listeners.values()].flatMap((s) => [...s]);
    this.listeners.clear();
    this.stopReader();
    for (const l of all) l.end();
  }

  /** Subscribers right now, for tests and metrics. */
  get size(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }

  private unsubscribe(jobId: string, listener: HubListener): void {
    const set = this.listeners.get(jobId);
    if (!set?.delete(listener)) return;
    if (set.size === 0) this.listeners.delete(jobId);
    if (this.listeners.size === 0) this.stopReader();
  }

  private stopReader(): void {
    this.reader?.stop();
    this.reader = undefined;
  }

  private dispatch(jobId: string, raw: string): void {
    const set = this.listeners.get(jobId);
    if (!set) return;
    const event = JSON.parse(raw) as JobEvent;
    for (const l of [...set]) {
      try {
        l.event(event);
      } catch (err) {
        this.options.log.warn({ jobId, err }, 'SseListenerFailed');
      }
    }
  }
}

/** A `StreamReader` per stream; ready when all are. */
class StreamReaders {
  readonly ready: Promise<void>;
  private readonly readers: StreamReader[];

  constructor(options: SseHubOptions, onEvent: (jobId: string, event: string) => void) {
    this.readers = options.streamKeys.map((streamKey) => new StreamReader(options, streamKey, onEvent));
    this.ready = Promise.all(this.readers.map((r) => r.ready)).then(() => {});
  }

  stop(): void {
    for (const r of this.readers) r.stop();
  }
}

/** One XREAD loop on its own connection, from the stream's last entry at start. */
class StreamReader {
  readonly ready: Promise<void>;
  private lastId = '0-0';
  private stopped = false;
  private readonly conn: Redis;

  constructor(
    private readonly options: SseHubOptions,
    private readonly streamKey: string,
    private readonly onEvent: (jobId: string, event: string) => void,
  ) {
    this.conn = options.connect();
    this.conn.on('error', (err: Error & { code?: string }) => options.log.warn({ code: err.code, message: err.message }, 'SseRedisError'));
    this.ready = redisCall(this.conn.xrevrange(streamKey, '+', '-', 'COUNT', 1)).then((last) => {
      this.lastId = last[0]?.[0] ?? '0-0';
      void this.loop();
    });
    this.ready.catch(() => this.stop());
  }

  stop(): void {
    this.stopped = true;
    this.conn.disconnect();
  }

  private async loop(): Promise<void> {
    const { blockMs = 5000, log } = this.options;
    const { streamKey } = this;
    log.debug({ lastId: this.lastId }, 'SseReaderStarted');
    while (!this.stopped) {
      try {
        const reply = await this.conn.xread('COUNT', 500, 'BLOCK', blockMs, 'STREAMS', streamKey, this.lastId);
        for (const [id, fields] of reply?.[0]?.[1] ?? []) {
          this.lastId = id;
          this.deliver(fields);
        }
      } catch (err) {
        if (this.stopped) break;
        log.warn({ err, lastId: this.lastId }, 'SseReadFailed');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    log.debug('SseReaderStopped');
  }

  private deliver(fields: string[]): void {
    let jobId: string | undefined;
    let event: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'jobId') jobId = fields[i + 1];
      else if (fields[i] === 'event') event = fields[i + 1];
    }
    if (jobId && event && !this.stopped) this.onEvent(jobId, event);
  }
}
