import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { createRedis, INGEST_LANES, JobStore, QUEUES, type JobView } from '@vod-ingest/shared';
import type { TestService } from '@vod-ingest/shared/testing';
export { call } from './helpers.js';

/** An ingest root with a clip, a directory, a FIFO and a symlink escaping to a file outside it. */
export interface IngestFixture {
  root: string;
  clip: string;
  outsideFile: string;
  escape: string;
  dir: string;
  fifo: string;
  remove(): void;
}

export function ingestFixture(): IngestFixture {
  const base = mkdtempSync(path.join(tmpdir(), 'vod-ingest-api-'));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  mkdirSync(path.join(root, 'inbox', 'dir'), { recursive: true });
  mkdirSync(outside);
  const clip = path.join(root, 'inbox', 'clip.mp4');
  writeFileSync(clip, Buffer.alloc(4096, 7));
  const outsideFile = path.join(outside, 'secret.mp4');
  writeFileSync(outsideFile, 'not yours');
  const escape = path.join(root, 'inbox', 'escape.mp4');
  symlinkSync(outsideFile, escape);
  const fifo = path.join(root, 'inbox', 'pipe.mp4');
  if (spawnSync('mkfifo', [fifo]).status !== 0) throw new Error('mkfifo failed');
  return { root, clip, outsideFile, escape, dir: path.join(root, 'inbox', 'dir'), fifo, remove: () => rmSync(base, { recursive: true, force: true }) };
}

/** A local HTTP server answering with `handler`; `url` is how it is reached as `localhost`. */
export async function httpServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; port: number; url: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { server, port, url: `http://localhost:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** What the tests look at in Redis: the job store and the BullMQ ingest queue, under `prefix`. */
export function inspect(redisUrl: string, prefix: string) {
  const redis = createRedis(redisUrl, { blocking: false, name: 'test' });
  const store = new JobStore(redis, { prefix });
  const queue = new Queue(QUEUES.ingest, { connection: createRedis(redisUrl, { blocking: true, name: 'test-queue' }), prefix });
  return {
    redis,
    store,
    queue,
    async jobKeys(): Promise<string[]> {
      return redis.keys(`${prefix}:job:*`);
    },
    async close() {
      await queue.close();
      await queue.disconnect();
      redis.disconnect();
    },
  };
}

/** Asserts what a refused request must leave under `prefix`: no job record, no queue entry, no event. */
export async function assertNothingRecorded(redisUrl: string, prefix: string): Promise<void> {
  const ins = inspect(redisUrl, prefix);
  try {
    assert.deepEqual(await ins.jobKeys(), []);
    // Neither lane holds anything (a tiny file would go to the small lane where lanes are on).
    for (const lane of INGEST_LANES) {
      const queue = new Queue(lane, { connection: ins.redis, prefix });
      const counts = await queue.getJobCounts();
      await queue.close();
      assert.ok(
        Object.values(counts).every((n) => n === 0),
        `${lane}: ${JSON.stringify(counts)}`,
      );
    }
    assert.equal(await ins.redis.exists(ins.store.keys.events), 0, 'no event written');
  } finally {
    await ins.close();
  }
}

export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
}

/** An open `GET /v1/jobs/:id/events`: messages as they arrive, and whether the server ended it. */
export interface SseStream {
  status: number;
  headers: Headers;
  messages: SseMessage[];
  comments: string[];
  /** Resolves when the server ends the stream (rejects after `timeoutMs`). */
  ended: Promise<void>;
  /** Resolves once `n` messages have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<SseMessage[]>;
  close(): void;
}

export async function openSse(api: TestService, jobId: string, key: string, o: { lastEventId?: string; timeoutMs?: number } = {}): Promise<SseStream> {
  const ac = new AbortController();
  const res = await fetch(`${api.url}/v1/jobs/${jobId}/events`, {
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...(o.lastEventId ? { 'last-event-id': o.lastEventId } : {}) },
    signal: ac.signal,
  });
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const waiters: Array<() => void> = [];
  const ended = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const msg: SseMessage = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) comments.push(line.slice(1).trim());
          const m = /^(id|event|data): ?(.*)$/.exec(line);
          if (m) msg[m[1] as keyof SseMessage] = m[2];
        }
        if (Object.keys(msg).length) messages.push(msg);
        waiters.splice(0).forEach((w) => w());
      }
    }
  })();
  const timeout = o.timeoutMs ?? 15_000;
  const timed = <T>(p: Promise<T>, what: string) =>
    Promise.race([
      p,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${timeout} ms; got ${JSON.stringify(messages)}`)), timeout).unref()),
    ]);
  const endedInTime = timed(ended, 'stream not ended');
  endedInTime.catch(() => {}); // handled here; a test that cares awaits it
  return {
    status: res.status,
    headers: res.headers,
    messages,
    comments,
    ended: endedInTime,
    async waitFor(n, ms = timeout) {
      const deadline = Date.now() + ms;
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${messages.length} of ${n} messages: ${JSON.stringify(messages)}`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 100))]);
      }
      return messages;
    },
    close: () => ac.abort(),
  };
}

/** A job view, typed. */
export type View = JobView & { error?: { code: string } };
