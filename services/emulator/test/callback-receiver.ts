import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One notification as the receiver got it. */
export interface ReceivedCallback {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> & { EventType: string; VideoId: string; Status: string };
  /** The status it was answered with (0: left hanging). */
  answered: number;
  at: number;
}

/** What to answer the `nth` request (1-based) to `path`: a status, or `hang` to never answer. */
export type Answer = (path: string, nth: number, eventType: string) => number | 'hang';

export interface CallbackReceiver {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly received: ReceivedCallback[];
  /** Resolves once `count` received callbacks satisfy `match`, with those callbacks. */
  waitFor(match: (c: ReceivedCallback) => boolean, count?: number, timeoutMs?: number): Promise<ReceivedCallback[]>;
  close(): Promise<void>;
}

/** A VOD callback receiver on loopback, answering as `answer` says and recording everything. */
export async function startCallbackReceiver(answer: Answer): Promise<CallbackReceiver> {
  const received: ReceivedCallback[] = [];
  const perPath = new Map<string, number>();
  const waiters = new Set<() => void>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const nth = (perPath.get(path) ?? 0) + 1;
      perPath.set(path, nth);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedCallback['body'];
      const decision = answer(path, nth, body.EventType);
      received.push({ path, headers: req.headers, body, answered: decision === 'hang' ? 0 : decision, at: Date.now() });
      for (const w of waiters) w();
      if (decision !== 'hang') res.writeHead(decision, { 'content-type': 'text/plain' }).end(decision === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    waitFor(match, count = 1, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hits = received.filter(match);
          if (hits.length < count) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hits);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `only ${received.filter(match).length} of ${count} callbacks within ${timeoutMs} ms; got ${JSON.stringify(received.map((r) => [r.path, r.body.EventType]))}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
