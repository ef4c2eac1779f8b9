import { request, type Agent } from 'undici';
import { AppError, checkUrlHop, createGuardedAgent, signWebhook, type JobEvent } from '@vod-ingest/shared';

/** Milliseconds one delivery may take, connect to last byte. */
export const WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * The shared address-pinned agent (`createGuardedAgent`: URL_ALLOWLIST aside, connections go only
 * to public addresses) with the delivery timeout as its own.
 */
export function createWebhookAgent(allowlist: readonly string[], timeoutMs = WEBHOOK_TIMEOUT_MS): Agent {
  return createGuardedAgent({ allowlist }, { timeoutMs });
}

/**
 * Checks an endpoint before anything is sent, with the same hop check as url sources
 * (`checkUrlHop`): http(s), no credentials, and no IP literal in a forbidden range (a literal is
 * never looked up, so the agent's guarded lookup cannot see it). Throws an unretryable `AppError`.
 */
export function checkEndpoint(raw: string, allowlist: readonly string[]): URL {
  try {
    return checkUrlHop(raw, { allowlist });
  } catch (err) {
    if (err instanceof AppError && err.code === 'SOURCE_URL_FORBIDDEN_ADDRESS') {
      throw new AppError('WEBHOOK_URL_FORBIDDEN_ADDRESS', 'webhook endpoint points at a private, loopback, link-local or reserved address', { status: 403 });
    }
    throw new AppError('WEBHOOK_URL_INVALID', `webhook endpoint is not an http(s) URL without credentials`, { status: 400, cause: err });
  }
}

export interface SendWebhookOptions {
  agent: Agent;
  secret: string;
  timeoutMs?: number;
}

/**
 * POSTs the envelope, signed now (a fresh `webhook-timestamp` per attempt, the event id as
 * `webhook-id`), without following redirects. Returns the status; network errors throw.
 */
export async function sendWebhook(url: URL, event: JobEvent, opts: SendWebhookOptions): Promise<number> {
  const body = JSON.stringify(event);
  const headers = signWebhook(opts.secret, event.id, Math.floor(Date.now() / 1000), body);
  const res = await request(url, {
    method: 'POST',
    dispatcher: opts.agent,
    headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'vod-ingest-webhooks/1' },
    body,
    maxRedirections: 0,
    signal: AbortSignal.timeout(opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS),
  });
  // The answer's body means nothing to us; read a little of it so the connection can be reused.
  await res.body.dump({ limit: 64 * 1024 }).catch(() => {});
  return res.statusCode;
}
