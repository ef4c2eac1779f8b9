import { setTimeout as sleep } from 'node:timers/promises';
import { AlibabaError, retry, UnavailableError, type Credential, type Logger } from '@vod-ingest/shared';
import { profileOf, type RoleProfile, type RoleProfiles } from './profiles.js';
import type { StsApi } from './sts.client.js';
import type { CachedCredential, TokenCache } from './token-cache.js';
import type { TokenMetrics } from './token.metrics.js';

export interface BrokerTimings {
  /** Never serve a credential with less than this left; capped at 15% of its lifetime. */
  safetyMarginMs: number;
  /** Refresh in the background once less than this is left; capped at 50% of its lifetime. */
  refreshAheadMs: number;
  /** How long a caller with nothing valid waits for another replica's refresh. Defaults to 10 s. */
  waitForPeerMs?: number;
  /** AssumeRole attempts per refresh (throttling, 5xx, network). Defaults to 3. */
  stsAttempts?: number;
  /** First retry delay; doubles, with jitter (see `retry` in shared), each capped at 30 s. Defaults to 200 ms. */
  stsBackoffMs?: number;
  /** Pause for every replica after a failed refresh. Defaults to 2 s (or what STS asked). */
  coolDownMs?: number;
}

export interface TokenBrokerDeps {
  profiles: Pick<RoleProfiles, 'resolve'>;
  cache: TokenCache;
  sts: StsApi;
  log: Logger;
  metrics: TokenMetrics;
  timings: BrokerTimings;
}

/**
 * Hands out STS credentials per credential key — a role profile (`ingest`), or a profile scoped to
 * a tenant (`ingest/acme`, see `RoleProfiles`): from the Redis cache when it has a valid one
 * (refreshing it in the background when it nears expiry), else by ONE AssumeRole across every
 * replica — the Redis lock holder calls STS, the others wait for the value it writes. Below,
 * "profile" is such a key; metrics are labelled with its profile part only.
 */
export class TokenBroker {
  /** Callers waiting for a credential share one refresh per profile... */
  private readonly inflight = new Map<string, Promise<CachedCredential>>();
  /** ...and background refreshes (which may end with nothing new) are kept apart from them. */
  private readonly background = new Map<string, Promise<void>>();
  /** Last value seen per profile: served if Redis is briefly unreachable and it is still valid. */
  private readonly lastSeen = new Map<string, CachedCredential>();
  private readonly used = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly deps: TokenBrokerDeps) {}

  profile(key: string): RoleProfile {
    return this.deps.profiles.resolve(key);
  }

  private safetyMargin(e: CachedCredential): number {
    return Math.min(this.deps.timings.safetyMarginMs, 0.15 * (e.expiresAt - e.issuedAt));
  }

  private refreshAhead(e: CachedCredential): number {
    return Math.min(this.deps.timings.refreshAheadMs, 0.5 * (e.expiresAt - e.issuedAt));
  }

  private usable(e: CachedCredential | undefined, rejectedKeyId?: string): e is CachedCredential {
    return !!e && e.credential.accessKeyId !== rejectedKeyId && e.expiresAt - Date.now() > this.safetyMargin(e);
  }

  private fresh(e: CachedCredential | undefined, rejectedKeyId?: string): e is CachedCredential {
    return this.usable(e, rejectedKeyId) && e.expiresAt - Date.now() > this.refreshAhead(e);
  }

  /**
   * A valid credential for `profileName`. `rejectedKeyId`: the caller's credential with this key
   * id was refused by the cloud, so that one must not be handed out again.
   */
  async get(profileName: string, rejectedKeyId?: string): Promise<Credential> {
    this.profile(profileName);
    this.used.add(profileName);
    const cached = await this.readCache(profileName);
    if (this.usable(cached, rejectedKeyId)) {
      this.deps.metrics.cacheHits.inc({ profile: profileOf(profileName) });
      if (!this.fresh(cached)) this.refreshInBackground(profileName);
      return cached.credential;
    }
    this.deps.metrics.cacheMisses.inc({ profile: profileOf(profileName) });
    return (await this.refreshShared(profileName, rejectedKeyId)).credential;
  }

  private async readCache(profile: string): Promise<CachedCredential | undefined> {
    try {
      const e = await this.deps.cache.read(profile);
      if (e) this.remember(profile, e);
      return e;
    } catch (err) {
      this.deps.log.warn({ err, profile }, 'TokenCacheUnreachable');
      return this.lastSeen.get(profile);
    }
  }

  private remember(profile: string, e: CachedCredential): void {
    const prev = this.lastSeen.get(profile);
    if (!prev || prev.expiresAt <= e.expiresAt) this.lastSeen.set(profile, e);
  }

  /** Seconds until the soonest-expiring newest credential of a profile (any tenant) this replica knows of expires (for the gauge). */
  secondsToExpiry(profile: string): number | undefined {
    const left = [...this.lastSeen].filter(([key]) => profileOf(key) === profile).map(([, e]) => (e.expiresAt - Date.now()) / 1000);
    return left.length ? Math.min(...left) : undefined;
  }

  /** One refresh per profile per process at a time; concurrent callers share it. */
  private refreshShared(profile: string, rejectedKeyId?: string): Promise<CachedCredential> {
    let p = this.inflight.get(profile);
    if (!p) {
      p = this.refresh(profile, rejectedKeyId)
        .then((e) => e!) // a foreground refresh returns a usable credential or throws
        .finally(() => this.inflight.delete(profile));
      this.inflight.set(profile, p);
    }
    return p;
  }

  private refreshInBackground(profile: string): void {
    if (this.background.has(profile) || this.inflight.has(profile)) return;
    const p = this.refresh(profile, undefined, true)
      .then(() => undefined)
      .catch((err) => this.deps.log.warn({ profile, code: (err as { code?: string }).code }, 'BackgroundRefreshFailed'))
      .finally(() => this.background.delete(profile));
    this.background.set(profile, p);
  }

  /**
   * Foreground: until a usable credential exists — take the lock and call STS, or wait for the
   * replica that holds it. Background: one try; if another replica holds the lock, it is on it.
   */
  private async refresh(profile: string, rejectedKeyId?: string, background = false): Promise<CachedCredential | undefined> {
    const { cache, timings } = this.deps;
    const deadline = Date.now() + (timings.waitForPeerMs ?? 10_000);
    for (;;) {
      const coolDown = await cache.coolDownLeft(profile);
      const current = await this.readCache(profile);
      if (coolDown > 0) {
        if (this.usable(current, rejectedKeyId)) return current;
        throw new UnavailableError(`STS is refusing ${profile} credentials for now`, {
          code: 'CREDENTIALS_UNAVAILABLE',
          retryAfterSeconds: Math.ceil(coolDown / 1000),
        });
      }
      const release = await cache.lock(profile, 20_000);
      if (release) {
        try {
          // Double-check under the lock: another replica may have just refreshed.
          const again = await this.readCache(profile);
          if (again && (background ? this.fresh(again) : this.usable(again, rejectedKeyId))) return again;
          return await this.assumeAndStore(profile, again, rejectedKeyId);
        } finally {
          await release().catch(() => {});
        }
      }
      if (background) return undefined;
      // A peer holds the lock; what is cached now may already serve us (its old or its new value).
      if (this.usable(current, rejectedKeyId)) return current;
      if (Date.now() > deadline) {
        throw new UnavailableError(`Timed out waiting for a ${profile} credential`, { code: 'CREDENTIALS_UNAVAILABLE', retryAfterSeconds: 1 });
      }
      await sleep(50 + Math.random() * 50);
    }
  }

  private async assumeAndStore(profile: string, stale: CachedCredential | undefined, rejectedKeyId?: string): Promise<CachedCredential> {
    const { sts, cache, metrics, log, timings } = this.deps;
    const label = { profile: profileOf(profile) };
    const attempts = timings.stsAttempts ?? 3;
    const stsRetryable = (err: unknown) => (err instanceof AlibabaError ? err.retryable : true);
    let lastErr: unknown;
    try {
      return await retry(
        async (attempt) => {
          const end = metrics.assumeRoleDuration.startTimer(label);
          try {
            const credential = await sts.assumeRole(this.profile(profile));
            end({ outcome: 'success' });
            metrics.assumeRoleCalls.inc({ ...label, outcome: 'success' });
            const entry: CachedCredential = { credential, issuedAt: Date.now(), expiresAt: Date.parse(credential.expiration) };
            await cache.write(profile, entry, this.safetyMargin(entry));
            this.remember(profile, entry);
            log.info({ profile, accessKeyId: credential.accessKeyId, expiration: credential.expiration, attempt }, 'CredentialRefreshed');
            return entry;
          } catch (err) {
            const outcome = err instanceof AlibabaError && /Throttling/i.test(err.code) ? 'throttled' : 'error';
            end({ outcome });
            metrics.assumeRoleCalls.inc({ ...label, outcome });
            log.warn({ profile, attempt, code: (err as { code?: string }).code, retryable: stsRetryable(err) }, 'AssumeRoleFailed');
            throw err;
          }
        },
        { retries: attempts - 1, baseMs: timings.stsBackoffMs ?? 200, retryable: stsRetryable },
      );
    } catch (err) {
      lastErr = err;
    }
    const asked = lastErr instanceof AlibabaError ? lastErr.retryAfterMs : undefined;
    const coolDownMs = Math.max(asked ?? 0, timings.coolDownMs ?? 2000);
    await cache.coolDown(profile, coolDownMs).catch(() => {});
    if (this.usable(stale, rejectedKeyId)) return stale; // keep serving what still works
    throw new UnavailableError(`Could not obtain a ${profile} credential from STS`, {
      code: 'CREDENTIALS_UNAVAILABLE',
      retryAfterSeconds: Math.ceil(coolDownMs / 1000),
      cause: lastErr,
    });
  }

  /** Keeps the profiles this replica has served fresh even when no request comes in. */
  startBackgroundRefresh(intervalMs: number): void {
    this.timer = setInterval(() => {
      for (const profile of this.used) {
        const e = this.lastSeen.get(profile);
        if (!this.fresh(e)) this.refreshInBackground(profile);
      }
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.inflight.values(), ...this.background.values()]);
  }
}
