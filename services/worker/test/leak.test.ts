import assert from 'node:assert/strict';
import { EventEmitter, getEventListeners } from 'node:events';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapSpaceStatistics, setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { JobRequest } from '@vod-ingest/shared';
import { submitJob } from '../../api/src/job-submission.js';
import { startInProcessWorker, type InProcessWorker } from './in-process-worker.js';

// Issue 11: 5,000 small jobs through ONE worker, in-process so its listeners and heap can be
// looked at. Everything on the path is real: a redis-server of its own, the token service and the
// emulator as processes, jobs recorded and enqueued by the api's submitJob, the worker built by the
// same createWorkerService as main.ts (ingest worker, webhook dispatcher, metrics), each job a
// 1 KiB file uploaded to the emulator's OSS. After every 1,000 jobs, with the queue empty, the
// listener counts and the heap (after a forced GC) are taken: after job 5,000 they must be what
// they were after job 1,000, and no MaxListenersExceededWarning may have been emitted.

const TOTAL = 5000;
const ROUND = 1000;
/** Above 10 on purpose: each running job listens on the shutdown signal, and Node warns past 10 listeners unless told how many to expect. */
const CONCURRENCY = 16;
/** Submissions in flight at once (the api's requests). */
const SUBMITTING = 16;
/**
 * Heap growth allowed from job 1,000 to job 5,000: 1.5 MiB, under 400 bytes a job (measured: 0.1-0.6
 * MiB, most of it between jobs 1,000 and 2,000). The abort-listener leak of issue 11 held ~12 KiB a job.
 */
const HEAP_SLACK = 1.5 * 1024 * 1024;

let w: InProcessWorker;
const warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
/** Log lines at warn or above, of the worker and the api (their loggers write here, not to stdout). */
const loud: string[] = [];
let logLines = 0;

function logSink(): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        logLines++;
        if (/"level":"(warn|error|fatal)"/.test(line) || line.includes('MaxListenersExceeded')) loud.push(line);
      }
      cb();
    },
  });
}

before(async () => {
  process.on('warning', onWarning);
  w = await startInProcessWorker({ fileBytes: 1024, workerLog: logSink(), apiLog: logSink(), env: { WORKER_CONCURRENCY: String(CONCURRENCY) } });
});

after(async () => {
  await w?.stop();
  process.off('warning', onWarning);
});

/**
 * The heap's live objects in bytes: full GCs (gc() without --expose-gc on the command line), with
 * turns of the event loop between them so what a GC freed can run its destroy hooks (node:test
 * tracks every async resource until then) and the next GC take what those held. The least of three
 * such readings a quarter second apart: the background readers (webhook dispatcher, enqueue
 * sweeper) may hold a batch of stream entries at any one moment. Code space is left out: it grows
 * as V8 optimizes more of the code over the first thousands of jobs.
 */
async function liveHeap(): Promise<number> {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let least = Number.POSITIVE_INFINITY;
  for (let reading = 0; reading < 3; reading++) {
    if (reading > 0) await sleep(250);
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
      await sleep(20);
    }
    const used = getHeapSpaceStatistics()
      .filter((s) => !s.space_name.startsWith('code_'))
      .reduce((n, s) => n + s.space_used_size, 0);
    least = Math.min(least, used);
  }
  return least;
}

/**
 * Every EventEmitter reachable from `roots` within a few property hops (BullMQ's connections,
 * the ioredis clients inside them, their sockets), with its listener count per event name.
 */
function emitterListeners(roots: Record<string, object>): Record<string, number> {
  const out: Record<string, number> = {};
  const seen = new Set<object>();
  const visit = (value: unknown, where: string, depth: number) => {
    if (typeof value !== 'object' || value === null || seen.has(value) || ArrayBuffer.isView(value)) return;
    seen.add(value);
    if (value instanceof EventEmitter) {
      for (const name of value.eventNames()) out[`${where} ${String(name)}`] = value.listenerCount(name);
    }
    if (depth === 0 || Array.isArray(value) || value instanceof Map || value instanceof Set) return;
    for (const key of Object.getOwnPropertyNames(value)) {
      let child: unknown;
      try {
        child = (value as Record<string, unknown>)[key];
      } catch {
        continue;
      }
      visit(child, `${where}.${key}`, depth - 1);
    }
  };
  for (const [name, root] of Object.entries(roots)) visit(root, name, 4);
  return out;
}

interface Snapshot {
  jobs: number;
  heapUsed: number;
  shutdownListeners: number;
  process: Record<string, number>;
  emitters: Record<string, number>;
  /** Active handles and requests by kind (sockets, timers, ...): the most of each seen over a few readings. */
  resources: Record<string, number>;
}

/**
 * Active handles and requests by kind, the most of each over eight readings a quarter second apart.
 * One reading is not enough: each BullMQ worker holds a watchdog timer only while its blocking
 * wait is on, so a worker between two waits shows one Timeout fewer (a CI run read 7 Timeouts at
 * job 1,000 and 9 at every later round). A leaked handle stays, so it is in every reading.
 */
async function activeResources(): Promise<Record<string, number>> {
  const most: Record<string, number> = {};
  for (let reading = 0; reading < 8; reading++) {
    if (reading > 0) await sleep(250);
    const now: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) now[r] = (now[r] ?? 0) + 1;
    keepMost(most, now);
  }
  return most;
}

/** Raises each count of `most` to the one in `counts` where that is higher. */
function keepMost(most: Record<string, number>, counts: Record<string, number>): void {
  for (const [kind, n] of Object.entries(counts)) most[kind] = Math.max(most[kind] ?? 0, n);
}

async function snapshot(jobs: number): Promise<Snapshot> {
  const heapUsed = await liveHeap();
  const resources = await activeResources();
  return {
    jobs,
    heapUsed,
    shutdownListeners: getEventListeners(w.service.ingest.shutdown, 'abort').length,
    process: Object.fromEntries(process.eventNames().map((n) => [String(n), process.listenerCount(n)])),
    emitters: emitterListeners({ worker: w.service.ingest.worker, queue: w.service.ingest.queue, connection: w.workerConnection }),
    resources,
  };
}

/** How many of the jobs `ids` are in each status. */
async function statuses(ids: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < ids.length; i += 500) {
    for (const j of await Promise.all(ids.slice(i, i + 500).map((id) => w.submit.store.get(id))))
      out[j?.status ?? 'missing'] = (out[j?.status ?? 'missing'] ?? 0) + 1;
  }
  return out;
}

/** Entries of `b` larger than in `a` (a listener or handle more than before). */
function grown(a: Record<string, number>, b: Record<string, number>): string[] {
  return Object.entries(b)
    .filter(([k, n]) => n > (a[k] ?? 0))
    .map(([k, n]) => `${k}: ${a[k] ?? 0} → ${n}`);
}

test(`${TOTAL} jobs through one worker (concurrency ${CONCURRENCY}): listeners and heap stay flat, no MaxListenersExceededWarning`, async () => {
  let done = 0;
  let failed = 0;
  let waiter: (() => void) | undefined;
  const ended = () => {
    done++;
    waiter?.();
  };
  w.service.ingest.worker.on('completed', ended);
  w.service.ingest.worker.on('failed', () => (failed++, ended()));
  const allDone = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${done} of ${n} jobs ended in time`)), 120_000);
      waiter = () => {
        if (done < n) return;
        clearTimeout(timer);
        resolve();
      };
      waiter();
    });

  const request = (i: number): JobRequest => ({
    source: { type: 'file', path: path.join(w.inbox, 'clip.mp4') },
    target: { type: 'oss', bucket: w.emu.bucket, key: `leak/${i}.mp4` },
  });
  const snapshots: Snapshot[] = [];
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  for (let round = 0; round < TOTAL / ROUND; round++) {
    const roundStart = performance.now();
    let next = round * ROUND;
    const end = next + ROUND;
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: SUBMITTING }, async () => {
        for (let i = next++; i < end; i = next++) {
          const r = await submitJob(w.submit, 'acme', request(i));
          assert.equal(r.status, 202);
          ids.push(r.job.id);
        }
      }),
    );
    await allDone(end);
    const seconds = (performance.now() - roundStart) / 1000;
    assert.equal(failed, 0, `failed jobs; log:\n${loud.slice(0, 20).join('\n')}`);
    assert.deepEqual(await statuses(ids), { succeeded: ROUND });
    ids.length = 0;
    const s = await snapshot(end);
    snapshots.push(s);
    if (process.env.LEAK_HEAP_SNAPSHOTS) writeHeapSnapshot(path.join(process.env.LEAK_HEAP_SNAPSHOTS, `worker-${end}.heapsnapshot`));
    console.log(
      `# jobs ${end}: ${(ROUND / seconds).toFixed(0)} jobs/s, heap ${(s.heapUsed / 2 ** 20).toFixed(2)} MiB, shutdown listeners ${s.shutdownListeners}, ` +
        `process listeners ${Object.values(s.process).reduce((a, b) => a + b, 0)}, emitter listeners ${Object.values(s.emitters).reduce((a, b) => a + b, 0)}, ` +
        `resources ${JSON.stringify(s.resources)}`,
    );
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  console.log(
    `# ${TOTAL} jobs in ${elapsed.toFixed(1)} s: ${(TOTAL / elapsed).toFixed(0)} jobs/s; this process (worker and the api's submitJob) ` +
      `${((cpu.user + cpu.system) / 1000 / TOTAL).toFixed(2)} CPU-ms a job; ${logLines} log lines`,
  );

  assert.equal((await w.emu.stats()).requests.PutObject, TOTAL, 'one PutObject per job reached the emulator');

  const [first, last] = [snapshots[0], snapshots[snapshots.length - 1]];
  assert.equal(last.shutdownListeners, 0, 'no attempt left its listener on the shutdown signal');
  assert.deepEqual(grown(first.process, last.process), [], 'process listeners');
  assert.deepEqual(grown(first.emitters, last.emitters), [], "listeners on the worker's emitters (BullMQ, ioredis, sockets)");
  // Handles at job 5,000 against the most of each kind at any earlier round: a leak of even one
  // handle per 1,000 jobs makes the last round the highest, while a watchdog timer that a reading
  // missed once is not a leak.
  const earlierMost: Record<string, number> = {};
  for (const s of snapshots.slice(0, -1)) keepMost(earlierMost, s.resources);
  assert.deepEqual(grown(earlierMost, last.resources), [], 'active handles');
  const heapGrowth = last.heapUsed - first.heapUsed;
  assert.ok(
    heapGrowth < HEAP_SLACK,
    `heap grew ${(heapGrowth / 1024).toFixed(0)} KiB from job ${first.jobs} to job ${last.jobs}: ` +
      snapshots.map((s) => `${s.jobs}: ${(s.heapUsed / 2 ** 20).toFixed(2)} MiB`).join(', '),
  );
  const maxListeners = warnings.filter((w) => w.name === 'MaxListenersExceededWarning');
  assert.deepEqual(
    maxListeners.map((w) => w.message),
    [],
    'MaxListenersExceededWarning emitted',
  );
  assert.deepEqual(loud, [], 'no warning or error logged');
});
