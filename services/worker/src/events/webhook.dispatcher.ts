import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { eventSeq, eventSubject, safeUrl, type JobEvent, type JobStore, type Logger } from '@vod-ingest/shared';
import { ConsumerLease, reapDeadConsumers } from './stream-consumers.js';
import type { WebhookEndpointStore } from './webhook-endpoint.store.js';
import { deliveryJobId, deliveryJobOptions, WEBHOOK_JOB_NAME, type WebhookJobData } from './webhook.job.js';
import type { WebhookMetrics } from './webhook.metrics.js';
import { markDone } from './webhook.processor.js';
import { attemptWebhook, WEBHOOK_TIMEOUT_MS, type SendWebhookOptions, type WebhookAttempt } from './webhook.sender.js';

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
  /**
   * Deliver directly: each event whose job's earlier events are done at the endpoint is POSTed by
   * the dispatcher itself, and only a failed attempt (and what follows it) becomes a delivery job.
   * Without it every delivery is a job.
   */
  direct?: DirectDelivery;
}

/** What the dispatcher needs to send webhooks itself. */
export interface DirectDelivery extends SendWebhookOptions {
  allowlist: readonly string[];
  metrics: WebhookMetrics;
  /** Endpoint-and-job groups sent at once. Defaults to 10. */
  concurrency?: number;
  /**
   * After a failed (or slow: unanswered at the deadline) direct attempt, the endpoint's deliveries
   * go by the queue for this long; for a job's `callbackUrl`, every callbackUrl of the job's
   * tenant. Defaults to 60 s.
   */
  coolOffMs?: number;
  /**
   * How long the dispatcher waits for the direct sends of one batch. Defaults to 2 s. An attempt
   * still unanswered then is left to finish in the background (its answer handled as it comes),
   * and what the batch has not sent yet goes by the queue: a slow endpoint, or many, cannot hold
   * back the next batch, other jobs' and other tenants' events, for longer than this.
   */
  deadlineMs?: number;
}

/** The default of `DirectDelivery.deadlineMs`. */
export const DIRECT_DEADLINE_MS = 2000;

/**
 * A delivery job standing in for an attempt left to finish in the background is due this long
 * after the attempt's timeout: it sends the event again only if this process died meanwhile.
 */
const STAND_IN_MARGIN_MS = 5000;

/** What a batch's deadline resolves with. */
const DEADLINE = Symbol('deadline');

/** The end of the time a batch waits for its direct sends. */
interface Deadline {
  /** When it comes (Date.now() time). */
  at: number;
  reached: Promise<typeof DEADLINE>;
}

/** Whether the deadline has come. */
const passed = (d: Deadline) => Date.now() >= d.at;

/** A delivery left for the queue; `delayMs` overrides the delay its `tried` gives it. */
interface Queued extends WebhookJobData {
  delayMs?: number;
}

/** An attempt still unanswered at its batch's deadline, finished in the background (`follow`). */
interface Detached {
  group: Group;
  event: JobEvent;
  seq: number;
  attempt: Promise<WebhookAttempt>;
  stopTimer: () => void;
}

/** One job's events bound for one endpoint in a batch, in seq order. */
interface Group {
  url: string;
  subject: string;
  /** What a failure here cools off (`coolOffKey`). */
  coolKey: string;
  events: JobEvent[];
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
  /** Endpoints (or tenants' callbacks, `coolOffKey`) whose last direct attempt failed, until when their deliveries go by the queue. */
  private readonly coolingOff = new Map<string, number>();
  /** Attempts left to finish in the background, until their answer is handled. */
  private readonly following = new Set<Promise<void>>();
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
    await Promise.all(this.following); // each ends within the delivery timeout
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

  /**
   * Sends (directly) or queues every (event, endpoint) of the entries, in stream order, then
   * acknowledges them: an entry is acknowledged only once each of its deliveries is done or queued.
   */
  private async dispatch(entries: StreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const callbacks = new Map<string, string | undefined>();
    const deliveries: { event: JobEvent; url: string }[] = [];
    const onlyCallbacks = this.opts.webhookUrls.length === 0;
    for (const [, fields] of entries) {
      // Without configured endpoints an entry that says "no callback" goes nowhere: not even parsed.
      if (onlyCallbacks && fields && isNone(fieldOf(fields, 'cb'))) continue;
      const event = this.parse(fields);
      if (!event) continue;
      for (const url of await this.endpointsOf(event, fields!, callbacks)) deliveries.push({ event, url });
    }
    if (deliveries.length > 0) {
      const disabled = await this.disabled();
      const live: Queued[] = deliveries.filter((d) => !disabled.has(d.url));
      const detached: Detached[] = [];
      const queued = this.opts.direct ? await this.deliverDirectly(live, this.opts.direct, detached) : live;
      // Deliveries to an endpoint (or a tenant's callbacks) cooling off after a failure go last: the
      // delivery slots they may hold for a whole timeout each go first to the others' deliveries.
      const jobs = queued.map(({ delayMs, ...d }) => ({
        name: WEBHOOK_JOB_NAME,
        data: d,
        opts: deliveryJobOptions(d.event.id, d.url, this.opts.retryScheduleMs, {
          tried: d.tried,
          delayMs,
          last: this.coolingDown(this.coolOffKey(d.url, d.event)),
        }),
      }));
      if (jobs.length > 0) await this.opts.queue.addBulk(jobs);
      // Their stand-in jobs exist now: an answer handled before would find nothing to remove.
      for (const d of detached) this.follow(d, this.opts.direct!);
    }
    await this.opts.redis.xack(this.key, this.group, ...entries.map(([id]) => id));
  }

  /**
   * Sends each (endpoint, job) group's events in seq order while its gate says the one before is
   * done there; one gate read for the whole batch, one gate write after. Returns what is left for
   * the queue: the events behind a gap (an earlier event still queued elsewhere), from a failed
   * attempt on (that one with its attempt counted), and what the batch's deadline left unsent,
   * with a stand-in job for each attempt it left running (pushed to `detached`). Endpoints that
   * just failed go by the queue, and so do the callbacks of a tenant one of whose callbackUrls
   * just failed: a new URL per job gives a tenant no new direct attempt.
   */
  private async deliverDirectly(deliveries: Queued[], direct: DirectDelivery, detached: Detached[]): Promise<Queued[]> {
    const groups = new Map<string, Group>();
    const queued: Queued[] = [];
    for (const d of deliveries) {
      const coolKey = this.coolOffKey(d.url, d.event);
      if (this.coolingDown(coolKey)) {
        queued.push(d);
        continue;
      }
      const subject = eventSubject(d.event);
      const k = `${d.url}\n${subject}`;
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { url: d.url, subject, coolKey, events: [] }));
      g.events.push(d.event);
    }
    const list = [...groups.values()];
    const gates = await this.opts.endpoints.gates(list.map((g) => ({ url: g.url, jobId: g.subject })));
    const moves: { url: string; jobId: string; seq: number }[] = [];
    const waitMs = direct.deadlineMs ?? DIRECT_DEADLINE_MS;
    let timer: NodeJS.Timeout | undefined;
    const deadline: Deadline = { at: Date.now() + waitMs, reached: new Promise((resolve) => (timer = setTimeout(resolve, waitMs, DEADLINE))) };
    let next = 0;
    const run = async () => {
      while (next < list.length && !passed(deadline)) {
        const i = next++;
        const g = list[i]!;
        const done = await this.sendGroup(g, gates[i]!, direct, deadline, queued, detached);
        if (done > gates[i]!) moves.push({ url: g.url, jobId: g.subject, seq: done });
      }
    };
    await Promise.all(Array.from({ length: Math.min(list.length, direct.concurrency ?? 10) }, run));
    clearTimeout(timer);
    // Groups the deadline left unstarted go by the queue whole.
    for (let i = next; i < list.length; i++) queueFrom(list[i]!, 0, gates[i]!, queued);
    await this.opts.endpoints.advanceMany(moves);
    return queued;
  }

  /**
   * Sends one group from `gate` on, until the deadline; pushes what it could not send to `queued`,
   * and an attempt unanswered at the deadline to `detached`. Returns the seq done up to.
   */
  private async sendGroup(g: Group, gate: number, direct: DirectDelivery, deadline: Deadline, queued: Queued[], detached: Detached[]): Promise<number> {
    let done = gate;
    let i = 0;
    for (; i < g.events.length; i++) {
      const event = g.events[i]!;
      const seq = eventSeq(event);
      if (seq <= done) continue; // done before (a re-read after a restart)
      if (seq !== done + 1 || this.coolingDown(g.coolKey) || passed(deadline)) break; // the queue takes it from here
      const stopTimer = direct.metrics.duration.startTimer();
      const pending = attemptWebhook(g.url, event, direct);
      const attempt = await Promise.race([pending, deadline.reached]);
      if (attempt === DEADLINE) {
        // Slow: its answer is handled when it comes (`follow`), the endpoint cools off, the job's
        // later events go by the queue. A delivery job due after the attempt's timeout stands in
        // for it, should this process die first; it goes once the answer is handled.
        this.coolOff(g.coolKey, direct);
        const tried = this.opts.retryScheduleMs.length > 0 ? 1 : 0;
        queued.push({ event, url: g.url, tried, delayMs: (direct.timeoutMs ?? WEBHOOK_TIMEOUT_MS) + STAND_IN_MARGIN_MS });
        detached.push({ group: g, event, seq, attempt: pending, stopTimer });
        i++;
        break;
      }
      stopTimer();
      const verdict = await this.judge(attempt, g, event, direct);
      if (verdict === 'gone') return Math.max(done, eventSeq(g.events[g.events.length - 1]!)); // later events here are done with too
      if (verdict === 'retry') {
        queued.push({ event, url: g.url, tried: 1 });
        i++;
        break;
      }
      done = seq; // delivered, or given up at once: later events go on
    }
    queueFrom(g, i, done, queued);
    return done;
  }

  /**
   * Counts and logs a direct attempt's outcome: `retry` when it failed and retries are configured
   * (the endpoint cools off), `gone` when a 410 disabled the endpoint, else `delivered` or `failed`
   * (given up at once: not retryable, or no retries configured).
   */
  private async judge(attempt: WebhookAttempt, g: Group, event: JobEvent, direct: DirectDelivery): Promise<'delivered' | 'gone' | 'retry' | 'failed'> {
    if (attempt.outcome === 'delivered') {
      direct.metrics.deliveries.inc({ outcome: 'delivered' });
      return 'delivered';
    }
    const log = this.opts.log.child({ jobId: g.subject, eventId: event.id, attempt: 1, endpoint: safeUrl(g.url) });
    if (attempt.outcome === 'gone') {
      await this.opts.endpoints.disable(g.url);
      this.disabledCache = undefined;
      direct.metrics.deliveries.inc({ outcome: 'disabled' });
      log.warn({ status: attempt.status }, 'WebhookEndpointDisabled');
      return 'gone';
    }
    this.coolOff(g.coolKey, direct);
    if (attempt.error.retryable && this.opts.retryScheduleMs.length > 0) {
      direct.metrics.deliveries.inc({ outcome: 'retried' });
      log.warn({ code: attempt.error.code, reason: attempt.error.message }, 'WebhookDeliveryRetried');
      return 'retry';
    }
    direct.metrics.deliveries.inc({ outcome: 'failed' });
    log.error({ code: attempt.error.code, reason: attempt.error.message, attempts: 1 }, 'WebhookDeliveryFailed');
    return 'failed';
  }

  /**
   * Handles the answer of an attempt left running at its batch's deadline, as `sendGroup` would
   * have: done with (delivered, disabled or given up), the gate moves past it, the job's next event
   * is woken and the stand-in job goes; to be retried, the stand-in is due after the schedule's
   * first wait instead.
   */
  private follow(d: Detached, direct: DirectDelivery): void {
    const standIn = deliveryJobId(d.event.id, d.group.url);
    const handled = (async () => {
      const attempt = await d.attempt;
      d.stopTimer();
      const verdict = await this.judge(attempt, d.group, d.event, direct);
      if (verdict === 'retry') {
        await (await this.opts.queue.getJob(standIn))?.changeDelay(this.opts.retryScheduleMs[0]!);
        return;
      }
      await markDone({ endpoints: this.opts.endpoints, queue: this.opts.queue }, { event: d.event, url: d.group.url, seq: d.seq });
      await this.opts.queue.remove(standIn);
    })()
      // Redis failed us: the stand-in job sends the event again when it is due.
      .catch((err: unknown) => this.opts.log.warn({ err, eventId: d.event.id }, 'WebhookAnswerNotHandled'))
      .finally(() => this.following.delete(handled));
    this.following.add(handled);
  }

  /**
   * What a failed direct attempt to `url` cools off: a configured endpoint (WEBHOOK_URLS) itself,
   * a job's callbackUrl its tenant's callbacks, whatever their URL.
   */
  private coolOffKey(url: string, event: JobEvent): string {
    return this.opts.webhookUrls.includes(url) ? url : `callbacks of\n${event.tenant}`;
  }

  /** Sends `key`'s deliveries by the queue for the cool-off (`DirectDelivery.coolOffMs`). */
  private coolOff(key: string, direct: DirectDelivery): void {
    this.coolingOff.set(key, Date.now() + (direct.coolOffMs ?? 60_000));
  }

  /** Whether `key`'s deliveries go by the queue now; forgets a cool-off that ended. */
  private coolingDown(key: string): boolean {
    const until = this.coolingOff.get(key);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.coolingOff.delete(key);
    return false;
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
    if (isNone(cb)) return undefined;
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

/** Pushes the group's events from index `from` on that are not done (seq above `done`) to `queued`. */
function queueFrom(g: Group, from: number, done: number, queued: Queued[]): void {
  for (let i = from; i < g.events.length; i++) if (eventSeq(g.events[i]!) > done) queued.push({ event: g.events[i]!, url: g.url });
}

/** An entry's `cb` that says its job has no callbackUrl (absent means unknown: the record says). */
const isNone = (cb: string | undefined) => cb === '0' || cb === '';

/** The value of a stream entry's field (fields are name, value, name, value, …). */
function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
