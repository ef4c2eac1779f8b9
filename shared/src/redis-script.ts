import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { inOneWrite } from './redis.js';

/**
 * A Lua script run by EVALSHA: the script's text goes over the wire only the first time a Redis
 * node sees it (after a NOSCRIPT answer), not on every call. Unlike ioredis's `defineCommand`, it
 * adds nothing to the connection, so `multi()` on a connection BullMQ also uses stays cheap.
 */
export class LuaScript {
  readonly sha: string;
  /** The sockets this script has run on since they connected: Redis has it cached (barring a SCRIPT FLUSH). */
  private readonly ranOn = new WeakSet<object>();

  /** `numberOfKeys` -1: any number, as many as each call passes. */
  constructor(
    readonly lua: string,
    readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /**
   * Whether an EVALSHA sent now on `redis` runs the script rather than answering NOSCRIPT: it has
   * run on the connection's current socket (a reconnect, after which Redis may have restarted
   * without its script cache, starts over). Only a SCRIPT FLUSH since can make this wrong. Always
   * false for a Cluster (no one socket).
   */
  isCachedFor(redis: Redis): boolean {
    return redis.stream !== undefined && this.ranOn.has(redis.stream);
  }

  /**
   * Calls `send`, which sends this script on `redis` first, inside `inOneWrite` when the script is
   * cached for the connection (`isCachedFor`): what the caller sends on the connection until the
   * event loop's next turn leaves in the same write, after the script, and runs after it. Otherwise
   * returns undefined without calling `send`: an EVALSHA answered NOSCRIPT is sent again, after
   * whatever followed it, so the caller sends and awaits as usual.
   */
  sendAhead<T>(redis: Redis, send: () => Promise<T>): Promise<T> | undefined {
    return this.isCachedFor(redis) ? inOneWrite(redis, send) : undefined;
  }

  async run<T>(redis: Redis, keys: readonly string[], args: readonly (string | number)[]): Promise<T> {
    if (this.numberOfKeys >= 0 && keys.length !== this.numberOfKeys) throw new Error(`script expects ${this.numberOfKeys} keys, got ${keys.length}`);
    try {
      return this.ran(redis, (await redis.evalsha(this.sha, keys.length, ...keys, ...args)) as T);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      if (redis.stream) this.ranOn.delete(redis.stream);
      return this.ran(redis, (await redis.eval(this.lua, keys.length, ...keys, ...args)) as T);
    }
  }

  private ran<T>(redis: Redis, reply: T): T {
    if (redis.stream) this.ranOn.add(redis.stream);
    return reply;
  }
}
