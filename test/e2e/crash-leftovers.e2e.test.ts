import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { JobStore } from '@vod-ingest/shared';
import { startStack, until, type Stack } from './stack.js';

const EVENTS = '{vod-ingest}:events';
const LOCK_SECONDS = 5;

/** A webhook sink that can stall: while `hold`, requests are parked unanswered. Delivered = answered 2xx on a live connection. */
async function startSink() {
  const delivered = new Map<string, number>(); // webhook-id → deliveries
  const parked: { id: string; res: ServerResponse }[] = [];
  let hold = false;
  const answer = (id: string, res: ServerResponse) => {
    if (res.socket?.destroyed) return; // the sender died meanwhile: not delivered
    delivered.set(id, (delivered.get(id) ?? 0) + 1);
    res.writeHead(204).end();
  };
  const server = createServer((req, res) => {
    const id = String(req.headers['webhook-id']);
    req.resume().on('end', () => (hold ? parked.push({ id, res }) : answer(id, res)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    delivered,
    parked,
    stall: () => void (hold = true),
    release() {
      hold = false;
      for (const p of parked.splice(0)) answer(p.id, p.res);
    },
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** XINFO CONSUMERS of the webhooks group: name → pending. */
async function consumers(redis: Redis): Promise<Map<string, number>> {
  const reply = (await redis.xinfo('CONSUMERS', EVENTS, 'webhooks')) as (string | number)[][];
  return new Map(reply.map((c) => [String(c[c.indexOf('name') + 1]), Number(c[c.indexOf('pending') + 1])]));
}

/** The consumer name a worker process holds (its lease's value starts with its pid). */
async function consumerOf(redis: Redis, pid: number): Promise<string | undefined> {
  for (const name of (await consumers(redis)).keys()) {
    const lease = await redis.get(`{vod-ingest}:webhooks:consumer:${name}`);
    if (lease?.startsWith(`${pid}@`)) return name;
  }
  return undefined;
}

describe('crash leftovers', () => {
  let stack: Stack | undefined;
  let redis: Redis | undefined;
  after(async () => {
    redis?.disconnect();
    await stack?.stop();
  });

  test('kill -9 of a worker with undelivered webhooks: the other worker delivers them within JOB_LOCK_SECONDS + 15 s, and the dead consumer leaves the group', async (t) => {
    const sink = await startSink();
    t.after(() => sink.close());
    stack = await startStack({
      workers: 2,
      workerEnv: {
        WEBHOOK_URLS: sink.url,
        JOB_LOCK_SECONDS: String(LOCK_SECONDS),
        WEBHOOK_RETRY_SCHEDULE_MS: Array(10).fill('500').join(','),
        ENQUEUE_SWEEP_SECONDS: '0',
      },
    });
    redis = new Redis(stack.redis.url);
    const [victim, survivor] = stack.workers;
    for (const end = Date.now() + 15_000; (await consumers(redis)).size < 2; await sleep(100)) if (Date.now() > end) throw new Error('no two consumers');
    const victimName = await consumerOf(redis, victim.proc.pid);
    assert.ok(victimName, 'the victim holds a leased consumer name');

    // The sink stalls: both workers hold deliveries in flight.
    sink.stall();
    const submit = async (n: number) => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const file = path.join(stack!.inbox, `hook-${Date.now()}-${i}.mp4`);
        writeFileSync(file, Buffer.alloc(64 * 1024, i));
        const r = await stack!.submit({ source: { type: 'file', path: file }, target: { type: 'vod', title: `hook ${i}` } });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        ids.push(r.body.id);
      }
      return ids;
    };
    const first = await submit(4);
    for (const id of first) assert.equal((await stack.waitFor(id)).status, 'succeeded');
    await until(() => sink.parked.length >= 2, 10_000);

    // Both workers frozen, more jobs recorded; the victim "reads" their first events and dies
    // before dispatching them (its stream entries stay pending on its consumer name).
    process.kill(victim.proc.pid, 'SIGSTOP');
    process.kill(survivor.proc.pid, 'SIGSTOP');
    let resumed = false;
    t.after(() => {
      if (!resumed) process.kill(survivor.proc.pid, 'SIGCONT');
    });
    // A dispatcher blocked in XREADGROUP when it was frozen is still served by Redis (the reply
    // waits in its socket): the first two jobs' entries may go there; the last two stay unread.
    const second = await submit(4);
    const read = (await redis.xreadgroup('GROUP', 'webhooks', victimName, 'COUNT', 100, 'STREAMS', EVENTS, '>')) as [string, unknown[]][] | null;
    assert.ok((read?.[0]?.[1].length ?? 0) >= 2, 'entries pending on the victim');
    await victim.proc.kill();
    const killedAt = Date.now();
    process.kill(survivor.proc.pid, 'SIGCONT');
    resumed = true;
    sink.release();

    for (const id of second) assert.equal((await stack.waitFor(id, { timeoutMs: 60_000 })).status, 'succeeded');
    const jobIds = new Set([...first, ...second]);
    const wanted = (await stack.streamEvents()).filter((e) => jobIds.has(e.jobId!)).map((e) => e.id);
    assert.equal(wanted.length, 8 * 3, 'queued, started, succeeded per job');
    const deadline = killedAt + (LOCK_SECONDS + 15) * 1000;
    for (; wanted.some((id) => !sink.delivered.has(id)); await sleep(100)) {
      if (Date.now() > deadline) {
        throw new Error(
          `undelivered ${Math.round((Date.now() - killedAt) / 1000)} s after the kill: ${wanted.filter((id) => !sink.delivered.has(id)).join(', ')}`,
        );
      }
    }
    const tookMs = Date.now() - killedAt;
    t.diagnostic(`every webhook delivered ${tookMs} ms after kill -9 (JOB_LOCK_SECONDS ${LOCK_SECONDS})`);
    const twice = wanted.filter((id) => (sink.delivered.get(id) ?? 0) > 1);
    t.diagnostic(`delivered more than once (at least once; receivers dedupe by webhook-id): ${twice.length}`);

    for (; (await consumers(redis)).has(victimName); await sleep(200)) {
      if (Date.now() > deadline + 5000) throw new Error(`dead consumer still there: ${JSON.stringify([...(await consumers(redis))])}`);
    }
    const left = await consumers(redis);
    assert.deepEqual([...left.keys()], [await consumerOf(redis, survivor.proc.pid)], 'only the live worker’s consumer is left');
    assert.ok(survivor.proc.output().includes('WebhookEventsReclaimed'), 'the victim’s pending entries were claimed');
    assert.ok(survivor.proc.output().includes('WebhookDeadConsumersRemoved'));
  });

  test('a job recorded but never enqueued (the api died between the two) is run within a minute', async () => {
    assert.ok(stack && redis, 'runs after the first test, on its stack');
    await stack.startWorker({ ENQUEUE_SWEEP_SECONDS: '2' });
    const file = path.join(stack.inbox, 'never-enqueued.mp4');
    writeFileSync(file, Buffer.alloc(128 * 1024, 7));
    const created = await new JobStore(redis).create('acme', { source: { type: 'file', path: file }, target: { type: 'vod', title: 'never enqueued' } });
    assert.ok(created.created);
    const at = Date.now();
    const job = await stack.waitFor(created.job.id, { timeoutMs: 60_000 });
    assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
    const tookMs = Date.now() - at;
    assert.ok(tookMs < 60_000, `ran ${tookMs} ms after it was recorded`);
    // The sweeper logs after its add, and a worker's log lines go out in batches (up to 50 ms): a
    // small job can end, and be seen to end, before the line reaches us.
    await until(() => stack!.workers.some((w) => w.proc.output().includes('JobEnqueuedBySweeper')), 5000);
  });
});
