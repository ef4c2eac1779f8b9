import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JobEvent } from '@vod-ingest/shared';

/**
 * A webhook receiver that checks signatures as the Standard Webhooks spec says, written from the
 * spec (not from our signer): HMAC-SHA256 keyed with the base64 part of `whsec_...` over
 * `${webhook-id}.${webhook-timestamp}.${body}`, base64, in a space-separated `v1,<sig>` list,
 * and a timestamp within 5 minutes.
 */
export interface Receiver {
  url: string;
  /** Verified deliveries, in arrival order. */
  events: JobEvent[];
  /** Deliveries whose signature did not verify. */
  rejected: number;
  /** Answers `status` to the next `times` deliveries, whatever they are. */
  failNext(times: number, status: number): void;
  /** Deliveries answered with a failure so far. */
  failed: number;
  close(): Promise<void>;
}

export function verifySignature(secret: string, headers: Record<string, string | string[] | undefined>, body: string): boolean {
  const id = String(headers['webhook-id'] ?? '');
  const ts = String(headers['webhook-timestamp'] ?? '');
  const sigs = String(headers['webhook-signature'] ?? '').split(' ');
  if (!id || !/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest();
  return sigs.some((s) => {
    const [version, b64] = s.split(',');
    const got = Buffer.from(b64 ?? '', 'base64');
    return version === 'v1' && got.length === expected.length && timingSafeEqual(got, expected);
  });
}

export async function startReceiver(secret: string): Promise<Receiver> {
  const failing = { times: 0, status: 500 };
  const r: Omit<Receiver, 'url' | 'close'> = {
    events: [],
    rejected: 0,
    failed: 0,
    failNext: (times, status) => Object.assign(failing, { times, status }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (!verifySignature(secret, req.headers, body)) {
        r.rejected++;
        return void res.writeHead(401).end();
      }
      const event = JSON.parse(body) as JobEvent;
      if (req.headers['webhook-id'] !== event.id) {
        r.rejected++;
        return void res.writeHead(400).end();
      }
      if (failing.times > 0) {
        failing.times--;
        r.failed++;
        return void res.writeHead(failing.status).end();
      }
      r.events.push(event);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(r, {
    url: `http://127.0.0.1:${port}/hooks`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }) as Receiver;
}
