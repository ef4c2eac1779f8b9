import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { LuaScript } from '@vod-ingest/shared';
import { holdLease, releaseLease } from '../redis-lease.js';

/** The liveness lease of a stream consumer: a key that lives while its dispatcher renews it. */
export const consumerKey = (prefix: string, name: string) => `${prefix}:webhooks:consumer:${name}`;

/**
 * KEYS: stream, lease. ARGV: group, consumer. Deletes the consumer when nobody holds its lease and
 * it has nothing pending, in one step (XGROUP DELCONSUMER would drop pending entries with it).
 * Returns 1 when deleted, 0 when not.
 */
const DELETE_DEAD = new LuaScript(
  `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #pending > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
`,
  2,
);

export interface ConsumerLeaseOptions {
  /** Key prefix (the JobStore's, a hash tag). */
  prefix: string;
  /** An exact name to use; without it, `<base>-<slot>` with the lowest free slot. */
  exact?: string;
  base: string;
  /** The lease's lifetime; it is renewed well within it. */
  ttlMs: number;
}

/**
 * A consumer name held by a lease with a TTL. Names are `<base>-0`, `<base>-1`, …: a process
 * takes the lowest slot nobody holds, so one that restarts after a clean stop takes its old name
 * back (and first re-reads what it left pending), and a host or pod never piles up names. After a
 * crash the old lease lives on until its TTL, so the new process takes the next slot, and the
 * dead name is claimed from and removed by the live dispatchers.
 */
export class ConsumerLease {
  /** The lease's value: who holds it (the pid helps an operator, and tests, find a process's name). */
  readonly token = `${process.pid}@${hostname()}:${randomBytes(6).toString('hex')}`;
  private current = '';
  private holding = false;

  constructor(
    private readonly redis: Redis,
    private readonly opts: ConsumerLeaseOptions,
  ) {}

  get name(): string {
    return this.current;
  }

  get held(): boolean {
    return this.holding;
  }

  /** Takes a name: the exact one, or the lowest free slot. */
  async acquire(): Promise<string> {
    const { prefix, exact, base, ttlMs } = this.opts;
    if (exact !== undefined) {
      await this.redis.set(consumerKey(prefix, exact), this.token, 'PX', ttlMs);
      return this.take(exact);
    }
    for (let slot = 0; ; slot++) {
      const name = `${base}-${slot}`;
      if ((await this.redis.set(consumerKey(prefix, name), this.token, 'PX', ttlMs, 'NX')) === 'OK') return this.take(name);
    }
  }

  /** Renews the lease; false when it was lost (another process took the name while we stalled). */
  async renew(): Promise<boolean> {
    const ok = await holdLease(this.redis, consumerKey(this.opts.prefix, this.current), this.token, this.opts.ttlMs);
    if (!ok) this.holding = false;
    return ok;
  }

  /** Gives the lease back (only if still ours). */
  async release(): Promise<void> {
    this.holding = false;
    await releaseLease(this.redis, consumerKey(this.opts.prefix, this.current), this.token);
  }

  private take(name: string): string {
    this.current = name;
    this.holding = true;
    return name;
  }
}

export interface ReapOptions {
  key: string;
  group: string;
  prefix: string;
  /** Only consumers idle (no read) longer than this are looked at. */
  idleMs?: number;
  /** A name never removed (our own). */
  keep?: string;
  /** Look only at these names (and at no idle time), for example our own when stopping. */
  names?: readonly string[];
}

interface ConsumerInfo {
  name: string;
  pending: number;
  idle: number;
}

/** XINFO CONSUMERS, parsed. */
export async function consumersOf(redis: Redis, key: string, group: string): Promise<ConsumerInfo[]> {
  const reply = (await redis.xinfo('CONSUMERS', key, group)) as (string | number)[][];
  return reply.map((flat) => {
    const m = new Map<string, string | number>();
    for (let i = 0; i + 1 < flat.length; i += 2) m.set(String(flat[i]), flat[i + 1]);
    return { name: String(m.get('name')), pending: Number(m.get('pending')), idle: Number(m.get('idle')) };
  });
}

/**
 * Removes the group's dead consumers: no lease, idle past `idleMs` (a consumer of an older version,
 * without leases, reads every few seconds while it lives) and nothing pending — what a dead one
 * had pending is claimed first, once it has been pending past the lock. Returns the names removed.
 */
export async function reapDeadConsumers(redis: Redis, o: ReapOptions): Promise<string[]> {
  let names: string[];
  if (o.names) names = [...o.names];
  else {
    const consumers = await consumersOf(redis, o.key, o.group);
    names = consumers.filter((c) => c.name !== o.keep && c.pending === 0 && c.idle > (o.idleMs ?? 0)).map((c) => c.name);
    if (names.length === 0) return [];
    const leases = await redis.mget(names.map((n) => consumerKey(o.prefix, n)));
    names = names.filter((_, i) => leases[i] === null);
  }
  const removed: string[] = [];
  for (const name of names) {
    if ((await DELETE_DEAD.run<number>(redis, [o.key, consumerKey(o.prefix, name)], [o.group, name])) === 1) removed.push(name);
  }
  return removed;
}
