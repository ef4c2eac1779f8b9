import type { Redis } from 'ioredis';
import { LuaScript } from '@vod-ingest/shared';
import { endpointHash } from './webhook.job.js';

/** KEYS: gates. ARGV: ttl seconds, then one seq per gate. Moves each gate forward only. */
const ADVANCE_MANY = new LuaScript(
  `for i, key in ipairs(KEYS) do
  local seq = tonumber(ARGV[i + 1])
  if seq > tonumber(redis.call('GET', key) or '0') then redis.call('SET', key, seq, 'EX', ARGV[1]) end
end
return #KEYS`,
  -1,
);

/** Seconds a gate lives after its last move: longer than any job plus the whole retry schedule. */
const GATE_TTL_SECONDS = 7 * 24 * 3600;

/**
 * What the webhook side keeps per endpoint in Redis: the endpoints disabled by a `410` (a set of
 * URLs, so an operator can read it and `SREM` one to enable it again), and per (endpoint, job)
 * the seq of the last event that is done with (delivered or given up), which keeps one job's
 * events in order at one endpoint.
 */
export class WebhookEndpointStore {
  /**
   * `prefix`: the gates' (a shard's, beside its jobs). `disabledPrefix`: the disabled set's, one
   * for every shard (KEY_PREFIX, shard 0); defaults to `prefix`.
   */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly disabledPrefix = prefix,
  ) {}

  /** The set of disabled endpoint URLs. */
  get disabledKey(): string {
    return `${this.disabledPrefix}:webhooks:disabled`;
  }

  private gateKey(url: string, jobId: string): string {
    return `${this.prefix}:webhooks:gate:${endpointHash(url)}:${jobId}`;
  }

  async isDisabled(url: string): Promise<boolean> {
    return (await this.redis.sismember(this.disabledKey, url)) === 1;
  }

  async disabled(): Promise<Set<string>> {
    return new Set(await this.redis.smembers(this.disabledKey));
  }

  async disable(url: string): Promise<void> {
    await this.redis.sadd(this.disabledKey, url);
  }

  /** The seq of the job's last event done with at this endpoint; 0 for none. */
  async gate(url: string, jobId: string): Promise<number> {
    return Number((await this.redis.get(this.gateKey(url, jobId))) ?? 0);
  }

  /** The gates of several (endpoint, job) pairs in one read. */
  async gates(pairs: readonly { url: string; jobId: string }[]): Promise<number[]> {
    if (pairs.length === 0) return [];
    const values = await this.redis.mget(...pairs.map((p) => this.gateKey(p.url, p.jobId)));
    return values.map((v) => Number(v ?? 0));
  }

  /** Moves several gates forward (never back) in one round trip. */
  async advanceMany(moves: readonly { url: string; jobId: string; seq: number }[]): Promise<void> {
    if (moves.length === 0) return;
    await ADVANCE_MANY.run(
      this.redis,
      moves.map((m) => this.gateKey(m.url, m.jobId)),
      [GATE_TTL_SECONDS, ...moves.map((m) => m.seq)],
    );
  }

  /** Marks the job's events up to `seq` done at this endpoint. */
  advance(url: string, jobId: string, seq: number): Promise<void> {
    return this.advanceMany([{ url, jobId, seq }]);
  }
}
