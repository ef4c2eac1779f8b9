import { AppError, UnavailableError } from '../errors.js';
import { getSmall, type SmallAnswer } from '../http/small-get.js';
import { msToExpiry, type Credential, type CredentialSource } from './credential.js';

export interface TokenServiceCredentialsOptions {
  /** Base URL of the token service (`TOKEN_SERVICE_URL`). */
  url: string;
  /** Its bearer secret (`TOKEN_SERVICE_SECRET`). */
  secret: string;
  /** Role profile: `ingest` (workers) or `client` (apps). */
  profile: string;
  /** Scope the credential to this tenant's session policy; unset: the profile's unscoped credential. */
  tenant?: string;
  /** Narrower than the tenant: `vod` or `object:<bucket>/<key>` (the token service's `scope`). */
  scope?: string;
  /**
   * Stop using a credential in memory when less than this share of its lifetime (as seen when it
   * arrived) is left, capped at `maxEarlyMs`. Defaults to 0.25 and 5 minutes.
   */
  earlyShare?: number;
  maxEarlyMs?: number;
  /** Per-request timeout (ms). Defaults to 5 s. */
  timeoutMs?: number;
}

interface Held {
  credential: Credential;
  /** Drop it from memory after this instant. */
  useUntil: number;
}

/**
 * A credential from the token service, kept in memory until shortly before it expires, so a busy
 * worker asks the token service rarely and STS never. Concurrent callers share one request.
 */
export class TokenServiceCredentials implements CredentialSource {
  private held?: Held;
  private inflight?: Promise<Credential>;

  constructor(private readonly opts: TokenServiceCredentialsOptions) {}

  async get(): Promise<Credential> {
    if (this.held && Date.now() < this.held.useUntil) return this.held.credential;
    return this.fetchShared();
  }

  async refreshAfterRejection(rejected: Credential): Promise<Credential> {
    if (this.held?.credential.accessKeyId === rejected.accessKeyId) this.held = undefined;
    if (this.held) return this.held.credential; // someone already got a newer one
    return this.fetchShared(rejected.accessKeyId);
  }

  private fetchShared(rejectedKeyId?: string): Promise<Credential> {
    this.inflight ??= this.fetchOnce(rejectedKeyId).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchOnce(rejectedKeyId?: string): Promise<Credential> {
    const url = new URL(`/v1/credentials/${encodeURIComponent(this.opts.profile)}`, this.opts.url);
    if (this.opts.tenant) url.searchParams.set('tenant', this.opts.tenant);
    if (this.opts.scope) url.searchParams.set('scope', this.opts.scope);
    if (rejectedKeyId) url.searchParams.set('rejected', rejectedKeyId);
    let res: SmallAnswer;
    try {
      res = await getSmall(url, { authorization: `Bearer ${this.opts.secret}` }, this.opts.timeoutMs ?? 5000);
    } catch (err) {
      throw new UnavailableError('Token service unreachable', { code: 'TOKEN_SERVICE_UNAVAILABLE', retryAfterSeconds: 1, cause: err });
    }
    if (res.status === 503) {
      const retryAfter = Number(res.headers['retry-after'] ?? '1');
      throw new UnavailableError('No valid STS credential right now', { code: 'CREDENTIALS_UNAVAILABLE', retryAfterSeconds: retryAfter });
    }
    if (res.status < 200 || res.status > 299) {
      const body = parseJson(res.body) as { error?: { code?: string; message?: string } } | undefined;
      throw new AppError(body?.error?.code ?? 'TOKEN_SERVICE_ERROR', `Token service answered ${res.status}: ${body?.error?.message ?? ''}`, {
        status: 502,
        retryable: res.status >= 500,
      });
    }
    const credential = parseJson(res.body) as Credential | undefined;
    if (!credential) throw new AppError('TOKEN_SERVICE_ERROR', 'Token service answered 200 without a JSON credential', { status: 502, retryable: true });
    const now = Date.now();
    const lifetime = msToExpiry(credential, now);
    const early = Math.min(lifetime * (this.opts.earlyShare ?? 0.25), this.opts.maxEarlyMs ?? 5 * 60_000);
    this.held = { credential, useUntil: now + lifetime - early };
    return credential;
  }
}

/**
 * One `TokenServiceCredentials` per tenant of a profile, made on first use and kept (tenants are
 * configured, so the map stays small): each tenant's uploads use its own scoped credential.
 */
export class TenantCredentials {
  private readonly sources = new Map<string, TokenServiceCredentials>();

  constructor(private readonly opts: Omit<TokenServiceCredentialsOptions, 'tenant'>) {}

  /** Resolves when the token service answers its `/readyz` (Redis reachable), else throws. */
  async ready(): Promise<void> {
    const res = await getSmall(new URL('/readyz', this.opts.url), { authorization: `Bearer ${this.opts.secret}` }, this.opts.timeoutMs ?? 5000);
    if (res.status < 200 || res.status > 299) throw new UnavailableError(`Token service not ready (${res.status})`, { code: 'TOKEN_SERVICE_UNAVAILABLE' });
  }

  /** A credential narrower than the tenant's (one direct upload's): not kept, the token service caches it. */
  forScope(tenant: string, scope: string): CredentialSource {
    return new TokenServiceCredentials({ ...this.opts, tenant, scope });
  }

  forTenant(tenant: string): CredentialSource {
    let source = this.sources.get(tenant);
    if (!source) {
      source = new TokenServiceCredentials({ ...this.opts, tenant });
      this.sources.set(tenant, source);
    }
    return source;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
