// Prints the Redis key prefixes of the shards (REDIS_SHARDS) of KEY_PREFIX, each with its Redis
// Cluster slot and the lists KEDA watches: what deploy/k8s/overlays/redis-cluster-example lists.
//   npm run build && REDIS_SHARDS=3 node scripts/shards.mjs      (KEY_PREFIX defaults to {vod-ingest})
import { INGEST_LANES, KEY_PREFIX, shardPrefixes, slotOfPrefix } from '@vod-ingest/shared';

const prefix = process.env.KEY_PREFIX || KEY_PREFIX;
const shards = Number(process.env.REDIS_SHARDS || 1);
for (const [i, p] of shardPrefixes(prefix, shards).entries()) {
  console.log(`shard ${i}: ${p}  slot ${slotOfPrefix(p)}  ${INGEST_LANES.map((lane) => `${p}:${lane}:wait`).join(' ')}`);
}
