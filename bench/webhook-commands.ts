// Redis commands the webhook dispatcher issues per job: the same paced load of small jobs
// (queued → started → succeeded: three events) written by a JobStore, once with no dispatcher
// and once per dispatcher variant, `INFO commandstats` deltas side by side. Usage:
//   node --conditions=development --import tsx bench/webhook-commands.ts [jobs=300] [jobsPerSecond=100]
// The 'before' rows need an older dispatcher copied next to the current one, for example:
//   git show 0c54ada:services/worker/src/events/webhook.dispatcher.ts > services/worker/src/events/old-dispatcher.bench-only.ts
// (delete it afterwards); without it only the current dispatcher is measured.
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { createLogger, createRedis, JobStore, QUEUES, type JobRequest } from '@vod-ingest/shared';
import { startTestRedis } from '@vod-ingest/shared/testing';
import { WebhookEndpointStore, type WebhookJobData } from '../services/worker/src/events/index.js';

const hasOld = existsSync(new URL('../services/worker/src/events/old-dispatcher.bench-only.ts', import.meta.url));
const jobs = Number(process.argv[2] ?? 300);
const rate = Number(process.argv[3] ?? 100);
const server = await startTestRedis();
const redis = createRedis(server.url);
const log = createLogger('bench', { level: 'fatal' });
const request = (callbackUrl?: string): JobRequest => ({
  source: { type: 'file', path: '/data/in.mp4' },
  target: { type: 'oss', bucket: 'b', key: 'k' },
  ...(callbackUrl ? { callbackUrl } : {}),
});

async function commandstats(): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const r = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (r) m.set(r[1], Number(r[2]));
  }
  return m;
}
const delta = (a: Map<string, number>, b: Map<string, number>) => new Map([...b].map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const).filter(([, v]) => v > 0));

type Variant = 'none' | 'before' | 'after';
/**
 * `store`: the JobStore as it is in this tree. `cb0`: the three events of a job without a
 * callbackUrl as XADDs of entries that say so (`cb 0`), what the dispatcher needs to read nothing.
 */
type Writer = 'store' | 'cb0';

async function writeExplicit(store: JobStore, i: number): Promise<void> {
  const id = `job_bench${String(i).padStart(8, '0')}`;
  for (const [seq, type] of ['job.queued', 'job.started', 'job.succeeded'].entries()) {
    const event = JSON.stringify({ id: `evt_${id}_${seq + 1}`, type, createdAt: new Date().toISOString(), jobId: id, tenant: 't', data: {} });
    await redis.xadd(store.keys.events, 'MAXLEN', '~', 100000, '*', 'jobId', id, 'seq', seq + 1, 'type', type, 'event', event, 'cb', '0');
  }
}
let round = 0;
async function run(variant: Variant, callbacks: boolean, writer: Writer): Promise<Map<string, number>> {
  const prefix = `{bench-${++round}}`;
  const store = new JobStore(redis, { prefix });
  let close = async () => {};
  if (variant !== 'none') {
    // Only the dispatcher (the delivery worker is the same in both); 'before' is the dispatcher of
    // the last commit, copied next to the new one for this bench.
    const { WebhookDispatcher } =
      variant === 'before'
        ? ((await import(
            `../services/worker/src/events/${'old-dispatcher.bench-only.js'}`
          )) as unknown as typeof import('../services/worker/src/events/webhook.dispatcher.js'))
        : await import('../services/worker/src/events/webhook.dispatcher.js');
    const queue = new Queue<WebhookJobData>(QUEUES.webhooks, { connection: redis, prefix });
    const d = new WebhookDispatcher({
      redis,
      store,
      queue,
      endpoints: new WebhookEndpointStore(redis, prefix),
      webhookUrls: [],
      retryScheduleMs: [1000],
      log,
    });
    d.start();
    close = async () => {
      await d.close();
      await queue.close();
    };
    await sleep(500);
  }
  const before = await commandstats();
  const started = Date.now();
  const running: Promise<unknown>[] = [];
  for (let i = 0; i < jobs; i++) {
    await sleep(Math.max(0, started + (i * 1000) / rate - Date.now()));
    running.push(
      (async () => {
        if (writer === 'cb0') return writeExplicit(store, i);
        const c = await store.create('t', request(callbacks && i % 10 === 0 ? 'http://127.0.0.1:1/cb' : undefined));
        if (!c.created) throw new Error('not created');
        await store.start(c.job.id, 1);
        await store.succeed(
          c.job.id,
          { bucket: 'b', key: 'k', size: 1, etag: 'e', crc64: '1' },
          { bytesUploaded: 1, bytesTotal: 1, partsUploaded: 1, partsTotal: 1 },
        );
      })(),
    );
  }
  await Promise.all(running);
  if (variant !== 'none') {
    // Until the group has read and acknowledged every entry.
    for (let t = 0; t < 100; t++) {
      const groups = (await redis.xinfo('GROUPS', store.keys.events)) as unknown[][];
      const g = groups[0] as (string | number)[];
      const pending = Number(g[g.indexOf('pending') + 1]);
      const last = String(g[g.indexOf('last-delivered-id') + 1]);
      const [[lastEntry]] = (await redis.xrevrange(store.keys.events, '+', '-', 'COUNT', 1)) as [string, string[]][];
      if (pending === 0 && last === lastEntry) break;
      await sleep(100);
    }
  }
  const after = await commandstats();
  await close();
  const d = delta(before, after);
  d.delete('info');
  d.delete('xinfo');
  d.delete('xrevrange');
  return d;
}

const fmt = (m: Map<string, number>) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${(v / jobs).toFixed(2)}`)
    .join(', ');
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

for (const [writer, callbacks] of [
  ['cb0', false],
  ['store', false],
  ['store', true],
] as const) {
  const none = await run('none', callbacks, writer);
  const results: [Variant, Map<string, number>][] = [];
  for (const v of hasOld ? (['before', 'after', 'before', 'after'] as const) : (['after', 'after'] as const))
    results.push([v, await run(v, callbacks, writer)]);
  const what = writer === 'cb0' ? 'entries with cb=0 (XADD)' : `JobStore, ${callbacks ? 'every 10th job with a callbackUrl' : 'no callbackUrl'}`;
  console.log(`\n${jobs} jobs at ${rate}/s, ${what}, no WEBHOOK_URLS`);
  console.log(`  writer alone: ${(total(none) / jobs).toFixed(2)} commands/job (${fmt(none)})`);
  for (const [v, m] of results) {
    const extra = new Map([...m].map(([k, n]) => [k, n - (none.get(k) ?? 0)] as const).filter(([, n]) => n !== 0));
    console.log(`  dispatcher ${v.padEnd(6)}: ${(total(extra) / jobs).toFixed(2)} commands/job more (${fmt(extra)})`);
  }
}
redis.disconnect();
await server.stop();
