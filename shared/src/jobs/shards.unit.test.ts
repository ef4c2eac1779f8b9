import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newJobId } from './job.store.js';
import { MAX_REDIS_SHARDS, shardOfJobId, shardPrefixes, slotOfPrefix } from './shards.js';

test('shard prefixes: shard 0 is KEY_PREFIX; N shards fall in N different equal slot ranges (one per master of an evenly split cluster)', () => {
  assert.deepEqual(shardPrefixes('{vod-ingest}', 1), ['{vod-ingest}']);
  for (let n = 2; n <= MAX_REDIS_SHARDS; n++) {
    const prefixes = shardPrefixes('{vod-ingest}', n);
    assert.equal(prefixes[0], '{vod-ingest}');
    const ranges = prefixes.map((p) => Math.floor(slotOfPrefix(p) / (16384 / n)));
    assert.equal(new Set(ranges).size, n, `${n} shards: ranges ${ranges}`);
    assert.deepEqual(shardPrefixes('{vod-ingest}', n), prefixes, 'the same on every replica');
  }
  // Text around the tag stays; only the tag changes.
  const [, one] = shardPrefixes('app:{t}:q', 2);
  assert.match(one, /^app:\{t-1(\.\d+)?\}:q$/);
  assert.throws(() => shardPrefixes('{vod-ingest}', 0), RangeError);
  assert.throws(() => shardPrefixes('{vod-ingest}', MAX_REDIS_SHARDS + 1), RangeError);
  assert.throws(() => shardPrefixes('no-tag', 2), RangeError);
});

test('a job id names its shard; ids made before shards existed (hex there) are shard 0; ids keep creation order across shards', () => {
  const now = Date.now();
  const ids = [3, 0, 15, 7].map((shard) => newJobId(now, shard));
  assert.deepEqual(
    ids.map((id) => shardOfJobId(id, 16)),
    [3, 0, 15, 7],
  );
  for (const id of ids) assert.match(id, /^job_[0-9a-z]{27}$/);
  assert.deepEqual([...ids].sort(), ids, 'same millisecond: the sequence orders them');
  assert.equal(shardOfJobId(ids[0], 1), 0, 'a store of one shard reads every id as its own');
  assert.equal(shardOfJobId(ids[2], 4), 0, 'a shard beyond the count falls back to 0');
  assert.equal(shardOfJobId('job_00000000000000a1b2c3d4e5f6a7b', 3), 0, 'an id without a shard letter');
});
