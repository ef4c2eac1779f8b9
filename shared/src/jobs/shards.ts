import { createRequire } from 'node:module';

/**
 * REDIS_SHARDS: the ingest queues, job records and events split into shards, each under a key
 * prefix of its own hash tag, so that each shard is one Redis Cluster slot and several masters
 * share the load. Shard 0 is the configured KEY_PREFIX itself (one shard is the layout of a
 * single Redis); shard i > 0 carries the tag `<tag>-<i>` or `<tag>-<i>.<n>`, whichever first falls
 * in the middle of the i-th of REDIS_SHARDS equal slot ranges after shard 0's: with the even slot
 * split `redis-cli --cluster create` and managed services make, N shards on N masters land on N
 * different masters. The tags follow from KEY_PREFIX and REDIS_SHARDS alone, so every replica of
 * every service computes the same ones; changing REDIS_SHARDS moves them (drain the queues first).
 */

/** Redis Cluster's slot of a key (CRC16 of its hash tag), as ioredis computes it. */
const keySlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

const SLOTS = 16384;
/** The most shards a job id can name (see `shardOfJobId`). */
export const MAX_REDIS_SHARDS = 16;

/** The slot of every key under `prefix` (its hash tag's). */
export function slotOfPrefix(prefix: string): number {
  return keySlot(`${prefix}:x`);
}

/** The key prefixes of `shards` shards of `prefix`, shard 0 first (`prefix` itself). */
export function shardPrefixes(prefix: string, shards: number): string[] {
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_REDIS_SHARDS) throw new RangeError(`shards must be 1..${MAX_REDIS_SHARDS}, got ${shards}`);
  const open = prefix.indexOf('{');
  const close = prefix.indexOf('}', open + 1);
  if (open < 0 || close <= open + 1) throw new RangeError(`key prefix ${prefix} carries no hash tag`);
  const withTag = (tag: string) => `${prefix.slice(0, open + 1)}${tag}${prefix.slice(close)}`;
  const tag = prefix.slice(open + 1, close);
  const width = SLOTS / shards;
  const range0 = Math.floor(slotOfPrefix(prefix) / width);
  const prefixes = [prefix];
  for (let i = 1; i < shards; i++) {
    const start = ((range0 + i) % shards) * width;
    for (let n = 0; ; n++) {
      const candidate = withTag(n === 0 ? `${tag}-${i}` : `${tag}-${i}.${n}`);
      const slot = slotOfPrefix(candidate);
      if (slot >= start + width / 4 && slot < start + (3 * width) / 4) {
        prefixes.push(candidate);
        break;
      }
    }
  }
  return prefixes;
}

/**
 * A job id's shard sits in the id, as one letter after its time and sequence (`g` is shard 0,
 * `h` shard 1, … `v` shard 15): not a hex digit, so an id made before shards existed (random hex
 * there) is read as shard 0, where every job of that time is.
 */
const SHARD_AT = 'job_'.length + 13;
const SHARD_LETTER_0 = 'g'.charCodeAt(0);

export function shardLetter(shard: number): string {
  return String.fromCharCode(SHARD_LETTER_0 + shard);
}

/** The shard a job id names (0 for ids without one); a store of fewer shards reads it as 0. */
export function shardOfJobId(id: string, shards: number): number {
  if (shards <= 1) return 0;
  const shard = id.charCodeAt(SHARD_AT) - SHARD_LETTER_0;
  return shard >= 0 && shard < shards ? shard : 0;
}
