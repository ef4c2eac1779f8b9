import { setTimeout as sleep } from 'node:timers/promises';
import { type ApiClient, type JobView, unreachable, unwrap, refusal } from './api.client.js';
import { CliError, EXIT } from './errors.js';
import { ProgressBar } from './progress.js';
import { readEvents } from './sse.js';

const TERMINAL = new Set(['job.succeeded', 'job.failed', 'job.canceled']);
const RECONNECTS = 5;

export interface WatchIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/**
 * Follows a job's event stream to its end, drawing progress; reconnects with `Last-Event-ID`
 * when the connection drops. Returns the job as it finally is.
 */
export async function watchJob(api: ApiClient, id: string, io: WatchIo): Promise<JobView> {
  const bar = new ProgressBar(io.stderr);
  let lastEventId: string | undefined;
  let ended = false;
  for (let attempt = 0; !ended; attempt++) {
    try {
      ended = await followOnce(api, id, lastEventId, bar, io, (eventId) => (lastEventId = eventId));
    } catch (err) {
      if (err instanceof CliError || attempt >= RECONNECTS) throw err instanceof CliError ? err : unreachable(err, `events of ${id}`);
      await sleep(500 * 2 ** attempt);
    }
  }
  const job = await unwrap(api.GET('/v1/jobs/{id}', { params: { path: { id } } }), `get ${id}`);
  if (job.progress.bytesTotal > 0) bar.update(job.progress);
  bar.done();
  io.stderr.write(`job.${job.status}${job.error ? `: ${job.error.code}: ${job.error.message}` : ''}\n`);
  return job;
}

/** One connection; true once the terminal event arrived (or the server ended the stream). */
async function followOnce(
  api: ApiClient,
  id: string,
  lastEventId: string | undefined,
  bar: ProgressBar,
  io: WatchIo,
  seen: (id: string) => void,
): Promise<boolean> {
  const headers = lastEventId ? { 'last-event-id': lastEventId } : undefined;
  const { response, error } = await api.GET('/v1/jobs/{id}/events', { params: { path: { id } }, headers, parseAs: 'stream' });
  if (!response.ok || !response.body) throw refusal(response.status, error, `events of ${id}`);
  for await (const event of readEvents(response.body)) {
    if (event.id) seen(event.id);
    const envelope = parseJson(event.data);
    const data = (envelope?.data ?? {}) as Record<string, unknown>;
    if (event.event === 'job.progress' && typeof data.bytesTotal === 'number') {
      bar.update(data as unknown as Parameters<ProgressBar['update']>[0]);
    } else if (event.event !== 'job.progress' && !TERMINAL.has(event.event)) {
      bar.done();
      io.stderr.write(`${event.event}${describeEventData(data)}\n`);
    }
    if (TERMINAL.has(event.event)) return true;
  }
  // The api ends the stream only after the terminal event: an early end is a dropped connection.
  throw new Error('the event stream ended early');
}

function parseJson(text: string): { data?: unknown } | undefined {
  try {
    return JSON.parse(text) as { data?: unknown };
  } catch {
    return undefined;
  }
}

function describeEventData(data: Record<string, unknown>): string {
  const error = data.error as { code?: string; message?: string } | undefined;
  if (error?.code) return `: ${error.code}: ${error.message ?? ''}`;
  if (typeof data.code === 'string') return `: ${data.code}: ${String(data.message ?? '')}`;
  return '';
}

/** The exit code a finished job's status means. */
export function exitCodeOf(job: JobView): number {
  if (job.status === 'succeeded') return EXIT.ok;
  if (job.status === 'failed' || job.status === 'canceled') return EXIT.failed;
  throw new CliError(`job ${job.id} is still ${job.status}`, EXIT.io);
}
