import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run by EVALSHA: the script's text goes over the wire only the first time a Redis
 * node sees it (after a NOSCRIPT answer), not on every call. Unlike ioredis's `defineCommand`, it
 * adds nothing to the connection, so `multi()` on a connection BullMQ also uses stays cheap.
 */
export class LuaScript {
  readonly sha: string;

  /** `numberOfKeys` -1: any number, as many as each call passes. */
  constructor(
    readonly lua: string,
    readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run<T>(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<T> {
    if (this.numberOfKeys >= 0 && keys.length !== this.numberOfKeys) throw new Error(`script expects ${this.numberOfKeys} keys, got ${keys.length}`);
    try {
      return (await redis.evalsha(this.sha, keys.length, ...keys, ...args)) as T;
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return (await redis.eval(this.lua, keys.length, ...keys, ...args)) as T;
    }
  }
}
