import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { eventSubject, type JobEvent, type JobStore, type Logger } from '@vod-ingest/shared';
import type { WebhookEndpointStore } from './webhook-endpoint.store.js';
import { deliveryJobOptions, WEBHOOK_JOB_NAME, type WebhookJobData } from './webhook.job.js';

export interface WebhookDispatcherOptions {
  /** For commands; the blocking read uses a duplicate of it, owned and closed by the dispatcher. */
  redis: Redis;
  store: JobStore;
  queue: Queue<WebhookJobData>;
  endpoints: WebhookEndpointStore;
  /** Endpoints every event goes to (WEBHOOK_URLS), besides the job's own `callbackUrl`. */
  webhookUrls: readonly string[];
  retryScheduleMs: readonly number[];
  log: Logger;
  /** Consumer group on the event stream. Defaults to `webhooks`. */
  group?: string;
  /** This dispatcher's consumer name; a restart under the same name re-reads what it left pending. Defaults to the host name. */
  consumer?: string;
  /** Entries pending longer than this (a dead consumer's) are claimed. Defaults to 60 s. */
  claimIdleMs?: number;
  /** How often to look for such entries. Defaults to 30 s. */
  claimIntervalMs?: number;
  /** XREADGROUP BLOCK time. Defaults to 5 s. */
  blockMs?: number;
  /** Entries per read. Defaults to 100. */
  batchSize?: number;
  /** A new consumer group starts this far back in the stream. Defaults to 5 min. */
  replayWindowMs?: number;
}

type StreamEntry = [id: string, fields: string[] | null];

/**
 * Turns the global event stream into webhook delivery jobs: one per (event, endpoint), with a
 * deterministic id so a repeated dispatch adds nothing, and acknowledges the entry only after.
 * Several dispatchers may share the group; each entry goes to one of them.
 */
export class WebhookDispatcher {
  private readonly blocking: Redis;
  private readonly key: string;
  private readonly group: string;
  private readonly consumer: string;
  private running = false;
  private loop?: Promise<void>;
  private lastClaim = 0;
  private claimCursor = '0-0';
  private readonly stop = new AbortController();

  constructor(private readonly opts: WebhookDispatcherOptions) {
    this.key = opts.store.keys.events;
    this.group = opts.group ?? 'webhooks';
    this.consumer = opts.consumer ?? hostname();
    this.blocking = opts.redis.duplicate({ connectionName: `vod-ingest:webhook-dispatcher:${this.consumer}` });
  }

  /** Starts reading in the background; the consumer group is created (or re-created) as needed. */
  start(): void {
    if (this.loop !== undefined) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops reading: the blocking read is cut off, a batch being dispatched is finished. */
  async close(): Promise<void> {
    this.running = false;
    this.stop.abort();
    this.blocking.disconnect();
    await this.loop;
  }

  /**
   * Neither `0` (a first start would replay up to the whole retained history, days of stale
   * webhooks) nor `$` (events written before the first start, or after Redis lost its data and
   * before we reconnected, would never be delivered): a new group starts `replayWindowMs` back.
   */
  private async ensureGroup(): Promise<void> {
    const [sec, usec] = await this.blocking.time();
    const start = Math.max(0, Number(sec) * 1000 + Math.floor(Number(usec) / 1000) - (this.opts.replayWindowMs ?? 5 * 60_000));
    try {
      await this.blocking.xgroup('CREATE', this.key, this.group, `${start}-0`, 'MKSTREAM');
      this.opts.log.info({ group: this.group, from: `${start}-0` }, 'WebhookConsumerGroupCreated');
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
    }
  }

  private async run(): Promise<void> {
    let grouped = false;
    let ownPending = true; // what this consumer name read and did not acknowledge before a restart
    while (this.running) {
      try {
        if (!grouped) {
          await this.ensureGroup();
          grouped = true;
        }
        if (Date.now() - this.lastClaim >= (this.opts.claimIntervalMs ?? 30_000)) await this.claimStale();
        const entries = await this.read(ownPending ? '0' : '>');
        if (ownPending && entries.length === 0) ownPending = false;
        await this.dispatch(entries);
      } catch (err) {
        if (!this.running) break;
        // The stream or the group is gone (Redis lost its data): create it again.
        if (String((err as Error).message).startsWith('NOGROUP')) grouped = false;
        else this.opts.log.error({ err }, 'WebhookDispatchError');
        await sleep(1000, undefined, { signal: this.stop.signal }).catch(() => {});
      }
    }
  }

  private async read(from: '0' | '>'): Promise<StreamEntry[]> {
    const reply = (await this.blocking.xreadgroup(
      'GROUP',
      this.group,
      this.consumer,
      'COUNT',
      this.opts.batchSize ?? 100,
      'BLOCK',
      this.opts.blockMs ?? 5000,
      'STREAMS',
      this.key,
      from,
    )) as [string, StreamEntry[]][] | null;
    return reply?.[0]?.[1] ?? [];
  }

  /** Takes over entries a dead (or stuck) consumer read and never acknowledged, a page at a time. */
  private async claimStale(): Promise<void> {
    const [next, entries] = (await this.opts.redis.xautoclaim(
      this.key,
      this.group,
      this.consumer,
      this.opts.claimIdleMs ?? 60_000,
      this.claimCursor,
      'COUNT',
      this.opts.batchSize ?? 100,
    )) as [string, StreamEntry[], string[]?];
    this.claimCursor = next;
    this.lastClaim = next === '0-0' ? Date.now() : 0;
    if (entries.length === 0) return;
    this.opts.log.info({ count: entries.length }, 'WebhookEventsReclaimed');
    await this.dispatch(entries);
  }

  /** Queues every (event, endpoint) of the entries, in stream order, then acknowledges them. */
  private async dispatch(entries: StreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const disabled = await this.opts.endpoints.disabled();
    const callbacks = new Map<string, string | undefined>();
    const jobs: { name: string; data: WebhookJobData; opts: ReturnType<typeof deliveryJobOptions> }[] = [];
    for (const [, fields] of entries) {
      const event = this.parse(fields);
      if (!event) continue;
      for (const url of await this.endpointsOf(event, callbacks)) {
        if (disabled.has(url)) continue;
        jobs.push({ name: WEBHOOK_JOB_NAME, data: { event, url }, opts: deliveryJobOptions(event.id, url, this.opts.retryScheduleMs) });
      }
    }
    if (jobs.length > 0) await this.opts.queue.addBulk(jobs);
    await this.opts.redis.xack(this.key, this.group, ...entries.map(([id]) => id));
  }

  /** The configured endpoints and the job's callbackUrl (gone with the job once it expired). */
  private async endpointsOf(event: JobEvent, callbacks: Map<string, string | undefined>): Promise<string[]> {
    const subject = eventSubject(event);
    if (!callbacks.has(subject)) callbacks.set(subject, await this.opts.store.callbackUrlOf(subject));
    const callbackUrl = callbacks.get(subject);
    return [...new Set(callbackUrl ? [...this.opts.webhookUrls, callbackUrl] : this.opts.webhookUrls)];
  }

  /** The envelope of an entry; null for an entry trimmed away while pending, or a malformed one. */
  private parse(fields: string[] | null): JobEvent | null {
    const i = fields ? fields.indexOf('event') : -1;
    if (!fields || i < 0) return null;
    try {
      const event = JSON.parse(fields[i + 1]) as JobEvent;
      if (typeof event?.id === 'string' && typeof eventSubject(event) === 'string') return event;
    } catch {
      // reported below
    }
    this.opts.log.warn({ jobId: fields[fields.indexOf('jobId') + 1] }, 'WebhookEventMalformed');
    return null;
  }
}
