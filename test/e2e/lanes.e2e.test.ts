import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobView } from '@vod-ingest/shared';
import { startStack, writeRandomFile, type Stack } from './stack.js';
import { median } from '../../bench/load.js';

// The head-of-line experiment of issue 9: 4 workers × WORKER_CONCURRENCY 2 (8 main slots), 8 big
// jobs that hold every main slot for several seconds, then 40 small ones. Without lanes no small
// job started before a big one finished (median wait 18.6 s); with the small lane (2 slots of its
// own per worker) their median wait stays under 2 s while the big ones still upload.
const KiB = 1024;
const WORKERS = 4;
const BIG = 8;
const SMALL = 40;
/** Big: 30 parts of 100 KiB, one at a time, each slowed by the emulator: several seconds per job. */
const BIG_BYTES = 3000 * KiB;
const PART_LATENCY_MS = 300;
/** Small: one PutObject each (below one part), not slowed. */
const SMALL_BYTES = 64 * KiB;
/**
 * Lanes split at 1 MiB here (SMALL_JOB_BYTES, the api's and the workers'). `LANES=off` runs the
 * same experiment with every job on the main lane (SMALL_JOB_BYTES=0), for the figure to compare
 * with: it prints the median wait and asserts only that all jobs succeed.
 */
const LANES_OFF = process.env.LANES === 'off';
const SMALL_JOB_BYTES = LANES_OFF ? '0' : String(1024 * KiB);

let stack: Stack;
before(async () => {
  stack = await startStack({
    workers: WORKERS,
    emulator: { admin: true },
    apiEnv: { SMALL_JOB_BYTES },
    workerEnv: { SMALL_JOB_BYTES, WORKER_CONCURRENCY: '2', WORKER_SMALL_CONCURRENCY: '2' },
  });
  await writeRandomFile(path.join(stack.inbox, 'big.mp4'), BIG_BYTES);
  await writeRandomFile(path.join(stack.inbox, 'small.mp4'), SMALL_BYTES);
  // Only multipart parts are slowed: the big jobs' (the small ones are single PUTs).
  await stack.emu.addFaults([{ action: 'UploadPart', latencyMs: PART_LATENCY_MS }]);
});
after(() => stack?.stop());

const ms = (iso?: string) => (iso ? Date.parse(iso) : Number.NaN);

async function submit(name: string, i: number, upload?: { partSize: number; parallel: number }): Promise<string> {
  const r = await stack.submit({
    source: { type: 'file', path: path.join(stack.inbox, name) },
    target: { type: 'oss', bucket: stack.emu.bucket, key: `lanes/${name}-${i}` },
    ...(upload ? { upload } : {}),
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return r.body.id;
}

test('8 big jobs hold every main slot; 40 small ones start on the small lane, median wait under 2 s', { timeout: LANES_OFF ? 240_000 : 120_000 }, async () => {
  const big = await Promise.all(Array.from({ length: BIG }, (_, i) => submit('big.mp4', i, { partSize: 100 * KiB, parallel: 1 })));
  // Every main slot busy with a big upload before the small jobs come.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const views = await Promise.all(big.map((id) => stack.job(id)));
    if (views.every((j) => j.status === 'running')) break;
    assert.ok(Date.now() < deadline, `big jobs not all running: ${views.map((j) => j.status).join(',')}`);
    await sleep(100);
  }
  const small: string[] = [];
  for (let i = 0; i < SMALL; i += 8) small.push(...(await Promise.all(Array.from({ length: Math.min(8, SMALL - i) }, (_, k) => submit('small.mp4', i + k)))));

  const done = await Promise.all([...big, ...small].map((id) => stack.waitFor(id, { timeoutMs: LANES_OFF ? 200_000 : 90_000 })));
  for (const j of done) assert.equal(j.status, 'succeeded', `${j.id}: ${JSON.stringify(j.error)}`);
  const bigViews = done.slice(0, BIG);
  const smallViews: JobView[] = done.slice(BIG);
  const waits = smallViews.map((j) => ms(j.startedAt) - ms(j.createdAt));
  const firstBigDone = Math.min(...bigViews.map((j) => ms(j.finishedAt)));
  const bigSeconds = bigViews.map((j) => (ms(j.finishedAt) - ms(j.startedAt)) / 1000);
  const smallDoneBeforeBig = smallViews.filter((j) => ms(j.finishedAt) < firstBigDone).length;
  const medianWait = median(waits);
  console.log(
    `# lanes ${LANES_OFF ? 'OFF' : 'on'}: ${WORKERS} workers x (2 main + 2 small slots); ${BIG} big (${BIG_BYTES / KiB} KiB, ${PART_LATENCY_MS} ms/part) then ${SMALL} small (${SMALL_BYTES / KiB} KiB): ` +
      `small wait median ${medianWait} ms, max ${Math.max(...waits)} ms; ${smallDoneBeforeBig}/${SMALL} small finished before the first big one; ` +
      `big upload ${Math.min(...bigSeconds).toFixed(1)}-${Math.max(...bigSeconds).toFixed(1)} s`,
  );
  if (LANES_OFF) return;
  assert.ok(medianWait < 2000, `small jobs' median wait ${medianWait} ms`);
  // …while the big ones upload: the median small job started before any big one finished.
  assert.ok(median(smallViews.map((j) => ms(j.startedAt))) < firstBigDone, 'small jobs started while every big one still uploaded');
});
