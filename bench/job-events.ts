import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { jobKeys } from '@vod-ingest/shared';

/** When one job started and ended, in ms since the epoch, from the stream entry ids. */
export interface JobTimes {
  /** `job.succeeded`, `job.failed` or `job.canceled`. */
  type: string;
  endedMs: number;
  startedMs?: number;
}

const TERMINAL = new Set(['job.succeeded', 'job.failed', 'job.canceled']);

/**
 * Each job's `job.started` and terminal times, from event stream entries handed to `record` (the
 * entry id's millisecond is the time), and the callers waiting for a job to end. Shared by the
 * readers of one stream (JobEventTail) and of every shard's stream (bench/shards.bench.ts).
 */
export class JobTimesBook {
  private readonly started = new Map<string, number>();
  private readonly ended = new Map<string, JobTimes>();
  private readonly waiters = new Map<string, (t: JobTimes) => void>();

  /** Resolves with the job's times once its terminal event is recorded (even if it came first). */
  wait(jobId: string, timeoutMs = 600_000): Promise<JobTimes> {
    const done = this.ended.get(jobId);
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`job ${jobId}: no terminal event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.set(jobId, (t) => (clearTimeout(timer), resolve(t)));
    });
  }

  /** One stream entry: its id and its fields (`jobId`, `type`, …). */
  record(entryId: string, fields: string[]): void {
    const atMs = Number(entryId.slice(0, entryId.indexOf('-')));
    const jobId = field(fields, 'jobId');
    const type = field(fields, 'type');
    // A small job writes its start with its end: the event's createdAt says when it began.
    if (type === 'job.started' && !this.started.has(jobId)) this.started.set(jobId, startedAtOf(field(fields, 'event')) ?? atMs);
    if (!TERMINAL.has(type) || this.ended.has(jobId)) return;
    const times: JobTimes = { type, endedMs: atMs, startedMs: this.started.get(jobId) };
    this.ended.set(jobId, times);
    this.waiters.get(jobId)?.(times);
    this.waiters.delete(jobId);
  }
}

/**
 * Follows the global event stream (`{vod-ingest}:events`) with XREAD BLOCK on one connection and
 * keeps each job's `job.started` and terminal times. The times are the stream entry ids, which
 * Redis stamps when the worker's Lua script writes the transition: how late this reader gets to
 * an entry does not move the figure, and one reader costs the system far less than polling
 * GET /v1/jobs/{id} through the api for every job would.
 */
export class JobEventTail {
  private readonly book = new JobTimesBook();
  private running = true;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly redis: Redis,
    private readonly stream: string,
    private lastId: string,
  ) {
    this.loop = this.follow();
  }

  /**
   * Starts after the stream's last entry: only events written from now on are seen. With `sent`,
   * every command the tail's connection sends is counted there by name (see `countCommands`), so
   * that a benchmark can take the tail's own reads out of Redis's command counts.
   */
  static async open(redisUrl: string, stream = jobKeys().events, sent?: Map<string, number>): Promise<JobEventTail> {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: null, connectionName: 'bench-tail' });
    if (sent) countCommands(redis, sent);
    const last = await redis.xrevrange(stream, '+', '-', 'COUNT', 1);
    return new JobEventTail(redis, stream, last[0]?.[0] ?? '0-0');
  }

  /** Resolves with the job's times once its terminal event is on the stream (even if it came first). */
  wait(jobId: string, timeoutMs?: number): Promise<JobTimes> {
    return this.book.wait(jobId, timeoutMs);
  }

  async close(): Promise<void> {
    this.running = false;
    await this.loop;
    this.redis.disconnect();
  }

  /**
   * After a read that found entries it lets the next ones gather for 50 ms, as the naive peer's
   * workers batch their completion reports (bench/peer/naive-worker.ts): the observer costs each
   * system about the same, and the times (entry ids) do not move.
   */
  private async follow(): Promise<void> {
    while (this.running) {
      // A short block so that close() does not wait long.
      const reply = await this.redis.xread('COUNT', 5000, 'BLOCK', 250, 'STREAMS', this.stream, this.lastId);
      const entries = reply?.[0]?.[1] ?? [];
      for (const [id, fields] of entries) {
        this.lastId = id;
        this.book.record(id, fields);
      }
      if (entries.length > 0) await sleep(50);
    }
  }
}

/** The `createdAt` of an event envelope (a JSON string), without parsing the rest of it. */
function startedAtOf(event: string): number | undefined {
  const m = /"createdAt":"([^"]+)"/.exec(event);
  return m ? Date.parse(m[1]!) : undefined;
}

function field(fields: string[], name: string): string {
  return fields[fields.indexOf(name) + 1] ?? '';
}

/**
 * Counts, by lower-case command name, every command `redis` sends from now on (connection set-up
 * included) into `sent`: what a benchmark's own observers add to `INFO commandstats`.
 */
export function countCommands(redis: Redis, sent: Map<string, number>): void {
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], stream?: Parameters<Redis['sendCommand']>[1]) => {
    const name = command.name.toLowerCase();
    sent.set(name, (sent.get(name) ?? 0) + 1);
    return send(command, stream);
  }) as Redis['sendCommand'];
}
