import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CacheCipher, Credential, Logger } from '@vod-ingest/shared';

/** A cached credential with when we received it (its lifetime is `expiresAt - issuedAt`). */
export interface CachedCredential {
  credential: Credential;
  issuedAt: number;
  expiresAt: number;
}

// Deletes the lock only if we still hold it.
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * The Redis side of the token service: per-profile credential (sealed), a refresh lock and a
 * cool-down after STS failures, all under `<prefix>:sts:<profile>…`.
 */
export class TokenCache {
  constructor(
    private readonly redis: Redis,
    private readonly cipher: CacheCipher,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  private key(profile: string, suffix = ''): string {
    return `${this.prefix}:sts:${profile}${suffix}`;
  }

  async read(profile: string): Promise<CachedCredential | undefined> {
    const key = this.key(profile);
    const raw = await this.redis.get(key);
    if (!raw) return undefined;
    const plain = this.cipher.open(raw, key);
    if (!plain) {
      // Replicas with different TOKEN_CACHE_KEYs (or a rotated key) cannot share the cache: each
      // would call STS. A miss keeps us working; the warning tells the operator.
      this.log.warn({ profile, encrypted: this.cipher.encrypted }, 'TokenCacheUnreadable');
      return undefined;
    }
    return JSON.parse(plain) as CachedCredential;
  }

  /** Stores the credential until `expiresAt - safetyMarginMs`. */
  async write(profile: string, entry: CachedCredential, safetyMarginMs: number): Promise<void> {
    const ttl = Math.floor(entry.expiresAt - safetyMarginMs - Date.now());
    if (ttl <= 0) return;
    const key = this.key(profile);
    await this.redis.set(key, this.cipher.seal(JSON.stringify(entry), key), 'PX', ttl);
  }

  /** Takes the profile's refresh lock for `ttlMs`; returns a release function, or undefined if held elsewhere. */
  async lock(profile: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const key = this.key(profile, ':lock');
    const token = randomBytes(12).toString('hex');
    const ok = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    if (ok !== 'OK') return undefined;
    return async () => {
      await this.redis.eval(RELEASE, 1, key, token);
    };
  }

  /** Milliseconds left of a cool-down after an STS failure (0 when none). */
  async coolDownLeft(profile: string): Promise<number> {
    const ms = await this.redis.pttl(this.key(profile, ':cooldown'));
    return ms > 0 ? ms : 0;
  }

  async coolDown(profile: string, ms: number): Promise<void> {
    await this.redis.set(this.key(profile, ':cooldown'), '1', 'PX', Math.max(1, Math.round(ms)));
  }
}
