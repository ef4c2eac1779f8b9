import type { Redis } from 'ioredis';
import { LuaScript } from '@vod-ingest/shared';

/** KEYS: lease. ARGV: token, ttl ms. Renews our lease, or takes it when it lapsed; 0 when another holds it. */
const HOLD = new LuaScript(
  `
local v = redis.call('GET', KEYS[1])
if v and v ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`,
  1,
);

/** KEYS: lease. ARGV: token. Deletes the lease if it is ours. */
const RELEASE = new LuaScript(
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
  1,
);

/**
 * A lease in Redis held by whoever's `token` it stores, for `ttlMs` after each hold: takes it when
 * free or lapsed, renews it when ours, and says false when another holds it.
 */
export async function holdLease(redis: Redis, key: string, token: string, ttlMs: number): Promise<boolean> {
  return (await HOLD.run<number>(redis, [key], [token, ttlMs])) === 1;
}

/** Gives the lease back if it is still ours. */
export async function releaseLease(redis: Redis, key: string, token: string): Promise<void> {
  await RELEASE.run(redis, [key], [token]);
}
