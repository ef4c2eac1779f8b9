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

/** How one attempt ended: a 2xx, a 410 (the endpoint is gone), or an error (status or network) saying whether to retry. */
export type WebhookAttempt = { outcome: 'delivered'; status: number } | { outcome: 'gone'; status: number } | { outcome: 'error'; error: AppError };

/** One signed POST of `event` to `url`: checked first (SSRF), never throws. */
export async function attemptWebhook(url: string, event: JobEvent, opts: SendWebhookOptions & { allowlist: readonly string[] }): Promise<WebhookAttempt> {
  let status: number;
  try {
    status = await sendWebhook(checkEndpoint(url, opts.allowlist), event, opts);
  } catch (err) {
    return { outcome: 'error', error: deliveryError(err) };
  }
  if (status >= 200 && status < 300) return { outcome: 'delivered', status };
  if (status === 410) return { outcome: 'gone', status };
  return { outcome: 'error', error: new AppError('WEBHOOK_ENDPOINT_STATUS', `webhook endpoint answered ${status}`, { status: 502, retryable: true }) };
}

/** Maps a send failure: refused by the SSRF guard or malformed is final, the network is retryable. */
function deliveryError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const code = (err as { code?: string } | null)?.code ?? (err as { cause?: { code?: string } } | null)?.cause?.code;
  if (code === 'SOURCE_URL_FORBIDDEN_ADDRESS') {
    return new AppError('WEBHOOK_URL_FORBIDDEN_ADDRESS', 'webhook endpoint resolves only to forbidden addresses', { status: 403, cause: err });
  }
  const reason = err instanceof Error ? `${err.name}${code ? ` ${code}` : ''}` : 'unknown error';
  return new AppError('WEBHOOK_ENDPOINT_UNREACHABLE', `webhook endpoint unreachable (${reason})`, { status: 502, retryable: true, cause: err });
}
