import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { eventSubject, type JobEvent, type JobStore, type Logger } from '@vod-ingest/shared';
import { ConsumerLease, reapDeadConsumers } from './stream-consumers.js';
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
  /**
   * This dispatcher's exact consumer name. Without it the name is `<consumerBase>-<n>` with the
   * lowest slot `n` no live dispatcher holds, so a restarted process takes its old name back.
   */
  consumer?: string;
  /** Start of the slot names (WORKER_ID). Defaults to the host name. */
  consumerBase?: string;
  /**
   * A consumer's liveness lease (JOB_LOCK_SECONDS): a dispatcher that has not renewed its lease
   * for this long is dead; entries pending this long are claimed by a live one. Defaults to 30 s.
   */
  lockMs?: number;
  /** Entries pending longer than this are claimed. Defaults to `lockMs`. */
  claimIdleMs?: number;
  /** How often the lease is renewed and dead consumers are looked for. Defaults to a third of `lockMs`, at most 5 s. */
  claimIntervalMs?: number;
  /** XREADGROUP BLOCK time. Defaults to 5 s. */
  blockMs?: number;
  /** Entries per read. Defaults to 500. */
  batchSize?: number;
  /**
   * After a read that did not fill a batch, how long to let entries gather before the next read:
   * one read and one XACK then serve many events instead of one each. Defaults to 100 ms.
   */
  lingerMs?: number;
  /** How long the set of disabled endpoints is cached. Defaults to 5 s. */
  disabledCacheMs?: number;
  /** A new consumer group starts this far back in the stream. Defaults to 5 min. */
  replayWindowMs?: number;
}

type StreamEntry = [id: string, fields: string[] | null];

/**
 * Turns the global event stream into webhook delivery jobs: one per (event, endpoint), with a
 * deterministic id so a repeated dispatch adds nothing, and acknowledges the entry only after.
 * Several dispatchers may share the group; each entry goes to one of them.
 *
 * Per event it reads nothing when the event goes nowhere: an entry's `cb` field says whether its
 * job has a callbackUrl (`0`: none, `1`: read it from the record, anything else: the URL itself);
 * only entries without the field (written before it existed) make it read the record. The set of
 * disabled endpoints is read only for batches with something to deliver, and cached.
 */
export class WebhookDispatcher {
  private readonly blocking: Redis;
  private readonly key: string;
  private readonly group: string;
  private readonly lease: ConsumerLease;
  private readonly lockMs: number;
  private running = false;
  private loop?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private maintaining?: Promise<void>;
  private disabledCache?: { at: number; urls: Promise<Set<string>> };
  private readonly stop = new AbortController();

  constructor(private readonly opts: WebhookDispatcherOptions) {
    this.key = opts.store.keys.events;
    this.group = opts.group ?? 'webhooks';
    this.lockMs = opts.lockMs ?? 30_000;
    this.lease = new ConsumerLease(opts.redis, {
      prefix: opts.store.keys.prefix,
      exact: opts.consumer,
      base: opts.consumerBase ?? hostname(),
      ttlMs: this.lockMs,
    });
    this.blocking = opts.redis.duplicate({ connectionName: `vod-ingest:webhook-dispatcher` });
  }

  /** The consumer name in use (after `start`, once the lease is taken). */
  get consumer(): string {
    return this.lease.name;
  }

  /** Starts reading in the background; the consumer group is created (or re-created) as needed. */
  start(): void {
    if (this.loop !== undefined) return;
    this.running = true;
    this.loop = this.run();
    const interval = this.opts.claimIntervalMs ?? Math.min(5000, Math.max(500, Math.floor(this.lockMs / 3)));
    this.timer = setInterval(() => {
      if (!this.maintaining && this.lease.held) this.maintaining = this.maintain().finally(() => (this.maintaining = undefined));
    }, interval);
    this.timer.unref();
  }

  /** Stops reading: the blocking read is cut off, a batch being dispatched is finished; the lease is given back. */
  async close(): Promise<void> {
    this.running = false;
    clearInterval(this.timer);
    this.stop.abort();
    this.blocking.disconnect();
    await this.loop;
    await this.maintaining;
    if (!this.lease.held) return;
    try {
      await this.lease.release();
      // Our name goes at once when nothing of ours is pending; otherwise a live dispatcher claims it later.
      await reapDeadConsumers(this.opts.redis, { key: this.key, group: this.group, prefix: this.opts.store.keys.prefix, names: [this.lease.name] });
    } catch (err) {
      this.opts.log.warn({ err }, 'WebhookConsumerNotReleased');
    }
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
    const batchSize = this.opts.batchSize ?? 500;
    while (this.running) {
      try {
        if (!this.lease.held) {
          await this.lease.acquire();
          this.opts.log.info({ consumer: this.lease.name }, 'WebhookConsumerStarted');
          ownPending = true;
        }
        if (!grouped) {
          await this.ensureGroup();
          grouped = true;
        }
        const entries = await this.read(ownPending ? '0' : '>', batchSize);
        if (ownPending && entries.length === 0) ownPending = false;
        await this.dispatch(entries);
        if (!ownPending && entries.length > 0 && entries.length < batchSize && this.opts.lingerMs !== 0) {
          await sleep(this.opts.lingerMs ?? 100, undefined, { signal: this.stop.signal }).catch(() => {});
        }
      } catch (err) {
        if (!this.running) break;
        // The stream or the group is gone (Redis lost its data): create it again.
        if (String((err as Error).message).startsWith('NOGROUP')) grouped = false;
        else this.opts.log.error({ err }, 'WebhookDispatchError');
        ownPending = true; // a batch that failed half-way stays pending on us: read it again
        await sleep(1000, undefined, { signal: this.stop.signal }).catch(() => {});
      }
    }
  }

  private async read(from: '0' | '>', count: number): Promise<StreamEntry[]> {
    const reply = (await this.blocking.xreadgroup(
      'GROUP',
      this.group,
      this.lease.name,
      'COUNT',
      count,
      'BLOCK',
      this.opts.blockMs ?? 5000,
      'STREAMS',
      this.key,
      from,
    )) as [string, StreamEntry[]][] | null;
    return reply?.[0]?.[1] ?? [];
  }

  /**
   * Every few seconds: renews our lease (taking a new name if it was lost), claims entries
   * pending longer than the lock (a dead or stuck consumer's), and removes consumers that are
   * dead (no lease, idle past the lock) and hold nothing.
   */
  private async maintain(): Promise<void> {
    try {
      if (!(await this.lease.renew())) {
        this.opts.log.warn({ consumer: this.lease.name }, 'WebhookConsumerLeaseLost');
        return; // the read loop takes a new name
      }
      await this.claimStale();
      const removed = await reapDeadConsumers(this.opts.redis, {
        key: this.key,
        group: this.group,
        prefix: this.opts.store.keys.prefix,
        idleMs: this.lockMs,
        keep: this.lease.name,
      });
      if (removed.length > 0) this.opts.log.info({ consumers: removed }, 'WebhookDeadConsumersRemoved');
    } catch (err) {
      if (this.running && !String((err as Error).message).startsWith('NOGROUP')) this.opts.log.warn({ err }, 'WebhookConsumerMaintenanceFailed');
    }
  }

  /** Takes over entries a dead (or stuck) consumer read and never acknowledged, a page at a time. */
  private async claimStale(): Promise<void> {
    let cursor = '0-0';
    for (let page = 0; page < 20 && this.running; page++) {
      const [next, entries] = (await this.opts.redis.xautoclaim(
        this.key,
        this.group,
        this.lease.name,
        this.opts.claimIdleMs ?? this.lockMs,
        cursor,
        'COUNT',
        this.opts.batchSize ?? 500,
      )) as [string, StreamEntry[], string[]?];
      if (entries.length > 0) {
        this.opts.log.info({ count: entries.length }, 'WebhookEventsReclaimed');
        await this.dispatch(entries);
      }
      if (next === '0-0') return;
      cursor = next;
    }
  }

  /** Queues every (event, endpoint) of the entries, in stream order, then acknowledges them. */
  private async dispatch(entries: StreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const callbacks = new Map<string, string | undefined>();
    const deliveries: { event: JobEvent; url: string }[] = [];
    for (const [, fields] of entries) {
      const event = this.parse(fields);
      if (!event) continue;
      for (const url of await this.endpointsOf(event, fields!, callbacks)) deliveries.push({ event, url });
    }
    if (deliveries.length > 0) {
      const disabled = await this.disabled();
      const jobs = deliveries
        .filter((d) => !disabled.has(d.url))
        .map((d) => ({ name: WEBHOOK_JOB_NAME, data: d, opts: deliveryJobOptions(d.event.id, d.url, this.opts.retryScheduleMs) }));
      if (jobs.length > 0) await this.opts.queue.addBulk(jobs);
    }
    await this.opts.redis.xack(this.key, this.group, ...entries.map(([id]) => id));
  }

  /**
   * The disabled endpoints, read at most once per `disabledCacheMs`: an endpoint disabled a moment
   * ago may still get a delivery job, which the delivery worker then skips (it checks again).
   */
  private disabled(): Promise<Set<string>> {
    const now = Date.now();
    if (!this.disabledCache || now - this.disabledCache.at >= (this.opts.disabledCacheMs ?? 5000)) {
      const urls = this.opts.endpoints.disabled();
      this.disabledCache = { at: now, urls };
      urls.catch(() => (this.disabledCache = undefined));
    }
    return this.disabledCache.urls;
  }

  /** The configured endpoints and the job's callbackUrl (gone with the job once it expired). */
  private async endpointsOf(event: JobEvent, fields: string[], callbacks: Map<string, string | undefined>): Promise<string[]> {
    const callbackUrl = await this.callbackOf(event, fields, callbacks);
    if (!callbackUrl) return this.opts.webhookUrls as string[];
    return this.opts.webhookUrls.includes(callbackUrl) ? (this.opts.webhookUrls as string[]) : [...this.opts.webhookUrls, callbackUrl];
  }

  /** The entry's `cb` says whether there is a callbackUrl; without it (older writers) the record is read. */
  private async callbackOf(event: JobEvent, fields: string[], callbacks: Map<string, string | undefined>): Promise<string | undefined> {
    const cb = fieldOf(fields, 'cb');
    if (cb === '0' || cb === '') return undefined;
    if (cb !== undefined && cb !== '1') return cb;
    const subject = eventSubject(event);
    if (!callbacks.has(subject)) callbacks.set(subject, await this.opts.store.callbackUrlOf(subject));
    return callbacks.get(subject);
  }

  /** The envelope of an entry; null for an entry trimmed away while pending, or a malformed one. */
  private parse(fields: string[] | null): JobEvent | null {
    const raw = fields ? fieldOf(fields, 'event') : undefined;
    if (!fields || raw === undefined) return null;
    try {
      const event = JSON.parse(raw) as JobEvent;
      if (typeof event?.id === 'string' && typeof eventSubject(event) === 'string') return event;
    } catch {
      // reported below
    }
    this.opts.log.warn({ jobId: fieldOf(fields, 'jobId') }, 'WebhookEventMalformed');
    return null;
  }
}

/** The value of a stream entry's field (fields are name, value, name, value, …). */
function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
