/**
 * Redis bytes per finished job: N small jobs (256 KiB, one PutObject each) through the whole
 * pipeline (POST /v1/jobs → queue → two workers → emulator), then Redis's `used_memory` growth
 * divided by N, and what one finished job leaves behind key by key (`MEMORY USAGE`): its record
 * with its events, its place in the tenant index, and its share of the global event stream
 * (which is capped by EVENTS_MAXLEN, not by the retention). BullMQ keeps nothing of a succeeded
 * job (`removeOnComplete`).
 *   npm run bench:redis-memory                        (2,000 jobs)
 *   BENCH_JOBS=500 npm run bench:redis-memory
 * Needs the compiled services: the npm script builds first.
 */
import path from 'node:path';
import { createRedis, jobKeys } from '@vod-ingest/shared';
import { startStack, writeRandomFile } from '../test/e2e/stack.js';
import { JobEventTail } from './job-events.js';
import { forEachConcurrent } from './load.js';

const total = Number(process.env.BENCH_JOBS ?? '2000');

const stack = await startStack({ workers: 2, apiEnv: { JOB_RATE_LIMIT: '100000000' } });
const tail = await JobEventTail.open(stack.redis.url);
const redis = createRedis(stack.redis.url, { blocking: false, name: 'bench-memory' });
try {
  const file = path.join(stack.inbox, 'bench-256k.bin');
  await writeRandomFile(file, 256 * 1024);
  const run = async (count: number, label: string): Promise<string[]> => {
    const ids: string[] = [];
    await forEachConcurrent(count, 32, async (i) => {
      const r = await stack.submit({ source: { type: 'file', path: file }, target: { type: 'oss', bucket: stack.emu.bucket, key: `bench/${label}/${i}.bin` } });
      if (r.status !== 202) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
      ids.push(r.body.id);
    });
    for (const id of ids) {
      const t = await tail.wait(id);
      if (t.type !== 'job.succeeded') throw new Error(`job ${id} ended ${t.type}`);
    }
    return ids;
  };
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  await run(50, 'warmup');
  // Let the webhook dispatcher and BullMQ settle before each reading.
  await new Promise((r) => setTimeout(r, 2000));
  const before = await usedMemory();
  const ids = await run(total, 'measured');
  await new Promise((r) => setTimeout(r, 2000));
  const after = await usedMemory();

  const keys = jobKeys();
  const sample = ids.slice(0, 200);
  let record = 0;
  for (const id of sample) record += Number(await redis.memory('USAGE', keys.job(id), 'SAMPLES', '0'));
  record /= sample.length;
  const tenant = (await redis.hget(keys.job(ids[0]!), 'tenant'))!;
  const index = Number(await redis.memory('USAGE', keys.tenantJobs(tenant), 'SAMPLES', '0')) / Number(await redis.zcard(keys.tenantJobs(tenant)));
  const streamLen = await redis.xlen(keys.events);
  const stream = Number(await redis.memory('USAGE', keys.events, 'SAMPLES', '0')) / (streamLen / 3);
  const ttl = await redis.ttl(keys.job(ids[0]!));
  const bullLeft = await redis.exists(`${keys.prefix}:ingest:${ids[0]}`, `${keys.prefix}:ingest-small:${ids[0]}`);

  console.log(`\n${total} jobs of 256 KiB, 2 workers (Node ${process.version}, Redis ${stack.redis.kind})`);
  console.log(`used_memory growth per finished job: ${((after - before) / total).toFixed(0)} bytes`);
  console.log(
    `  its record with its 3 events (MEMORY USAGE, mean of ${sample.length}): ${record.toFixed(0)} bytes, expires in ${(ttl / 86400).toFixed(1)} days`,
  );
  console.log(`  its entry in the tenant index: ${index.toFixed(0)} bytes (trimmed to the retention)`);
  console.log(`  its 3 entries in the global event stream: ${stream.toFixed(0)} bytes (the stream is capped at EVENTS_MAXLEN entries)`);
  console.log(`  BullMQ job hashes left after success: ${bullLeft}`);
} finally {
  redis.disconnect();
  await tail.close();
  await stack.stop();
}
