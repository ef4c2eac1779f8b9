import type { Request, Response } from 'express';
import { AppError, TERMINAL_STATUSES, ValidationError, eventSeq, isTerminalEvent, type JobEvent, type JobStore, type Logger } from '@vod-ingest/shared';
import { callerOf } from './api-keys.js';
import { jobNotFound } from './jobs.errors.js';
import { redisCall } from './redis-keys.js';
import type { SseHub } from './sse-hub.js';

export interface JobEventStreamDeps {
  log: Logger;
  store: JobStore;
  hub: SseHub;
  /** Open streams per tenant in this process (SSE_MAX_PER_TENANT). */
  maxPerTenant: number;
  /** Comment sent this often so proxies keep the connection. Defaults to 15 s. */
  keepAliveMs?: number;
}

const HISTORY_PAGE = 1000;

/** Open streams per tenant; over the cap, 429 `TOO_MANY_STREAMS`. */
class StreamSlots {
  private readonly open = new Map<string, number>();
  constructor(private readonly max: number) {}

  acquire(tenant: string): () => void {
    const n = this.open.get(tenant) ?? 0;
    if (n >= this.max) throw new AppError('TOO_MANY_STREAMS', `At most ${this.max} event streams may be open at once`, { status: 429, retryable: true });
    this.open.set(tenant, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(tenant) ?? 1) - 1;
      if (left > 0) this.open.set(tenant, left);
      else this.open.delete(tenant);
    };
  }
}

/** `Last-Event-ID`: the seq of the last event the client has; absent is 0 (everything). */
function lastEventIdOf(req: Request): number {
  const raw = req.headers['last-event-id'];
  if (raw === undefined || raw === '') return 0;
  if (typeof raw === 'string' && /^\d{1,15}$/.test(raw)) return Number(raw);
  throw new ValidationError('Last-Event-ID is invalid', [{ field: 'Last-Event-ID', message: 'an event id (seq) this stream sent' }], 'LAST_EVENT_ID_INVALID');
}

/**
 * Writes one job's events as SSE: history first (live events that arrive meanwhile wait), then
 * live ones; each seq once, in order. Ends after the terminal event.
 */
class EventSink {
  private lastSeq: number;
  private replaying = true;
  private pending: JobEvent[] = [];
  done = false;

  constructor(
    private readonly res: Response,
    after: number,
    private readonly onDone: () => void,
  ) {
    this.lastSeq = after;
  }

  live(event: JobEvent): void {
    if (this.replaying) this.pending.push(event);
    else this.send(event);
  }

  replayed(): void {
    this.replaying = false;
    for (const e of this.pending.sort((a, b) => eventSeq(a) - eventSeq(b))) this.send(e);
    this.pending = [];
  }

  send(event: JobEvent): void {
    const seq = eventSeq(event);
    if (this.done || seq <= this.lastSeq) return;
    this.lastSeq = seq;
    this.res.write(`id: ${seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    if (isTerminalEvent(event)) this.finish();
  }

  comment(text: string): void {
    if (!this.done) this.res.write(`: ${text}\n\n`);
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    this.onDone();
    if (!this.res.writableEnded) this.res.end();
  }
}

/** `GET /v1/jobs/:id/events`: the job's events as `text/event-stream`, resumable by `Last-Event-ID`. */
export function jobEventStream(deps: JobEventStreamDeps) {
  const slots = new StreamSlots(deps.maxPerTenant);
  return async (req: Request, res: Response): Promise<void> => {
    const { tenant } = callerOf(res);
    const id = String(req.params.id);
    const after = lastEventIdOf(req);
    if (!(await redisCall(deps.store.getForTenant(tenant, id)))) throw jobNotFound();
    const release = slots.acquire(tenant);
    let unsubscribe = () => {};
    let timer: NodeJS.Timeout | undefined;
    const sink = new EventSink(res, after, () => (clearInterval(timer), unsubscribe(), release()));
    res.on('close', () => sink.finish());
    try {
      unsubscribe = await deps.hub.subscribe(id, { event: (e) => sink.live(e), end: () => sink.finish() });
    } catch (err) {
      sink.done = true;
      release();
      throw err;
    }
    if (sink.done) return unsubscribe(); // the client left while we subscribed
    res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    timer = setInterval(() => sink.comment('keep-alive'), deps.keepAliveMs ?? 15_000);
    await replay(deps, id, after, sink).catch((err: unknown) => {
      deps.log.warn({ jobId: id, err }, 'JobEventReplayFailed');
      sink.finish();
    });
  };
}

/** Sends the stored history, then the live events held meanwhile; ends if the job is over. */
async function replay(deps: JobEventStreamDeps, id: string, after: number, sink: EventSink): Promise<void> {
  for (let from = after; !sink.done; ) {
    const page = await redisCall(deps.store.events(id, from, HISTORY_PAGE));
    for (const e of page) sink.send(e);
    if (page.length < HISTORY_PAGE) break;
    from = eventSeq(page[page.length - 1]);
  }
  if (sink.done) return;
  const job = await redisCall(deps.store.get(id));
  sink.replayed();
  // Resumed after the terminal event (or the job vanished): nothing more will come.
  if (!job || TERMINAL_STATUSES.includes(job.status)) sink.finish();
}
