import type { IncomingMessage, ServerResponse } from 'node:http';
import { CloudError } from './errors.js';

/** RFC 3986 percent-encoding (`!'()*` encoded too), as both ali-oss and openapi-core sign. */
export function rfc3986Encode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The query string as sent, split into decoded pairs. `+` stays a plus (SDKs percent-encode
 * spaces), and a bare `key` (no `=`) is kept apart from `key=` for OSS V4 signing.
 */
export function parseRawQuery(search: string): Array<{ key: string; value: string | null }> {
  const q = search.startsWith('?') ? search.slice(1) : search;
  if (!q) return [];
  return q
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return { key: safeDecode(pair), value: null };
      return { key: safeDecode(pair.slice(0, eq)), value: safeDecode(pair.slice(eq + 1)) };
    });
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new CloudError(400, 'InvalidArgument', 'Malformed percent-encoding in the query string.');
  }
}

/** Reads a small request body fully; refuses more than `limit` bytes. */
export async function readSmallBody(req: IncomingMessage, limit = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new CloudError(400, 'EntityTooLarge', 'Request body is too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Lets the rest of a request body go by, so the connection can be reused after an early answer. */
export function drain(req: IncomingMessage): void {
  if (!req.readableEnded) req.resume();
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', 'content-length': data.length, ...headers });
  res.end(data);
}

/** A first header value, lower-cased name. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
