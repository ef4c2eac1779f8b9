import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { fileDigest, objectDigest, startStack, writeRandomFile, type Stack } from './stack.js';

const MiB = 1024 * 1024;
let stack: Stack;
before(async () => {
  stack = await startStack({ workers: 2 });
});
after(() => stack?.stop());

test('SIGTERM to a worker mid-upload: it exits 0 at a part boundary, another worker finishes, no part re-sent', async () => {
  const file = path.join(stack.inbox, 'sigterm.mp4');
  await writeRandomFile(file, 24 * MiB);
  await stack.emu.addFaults([{ action: 'UploadPart', rate: 1, latencyMs: 300 }]);
  await stack.emu.resetStats();
  const r = await stack.submit({ source: { type: 'file', path: file }, target: { type: 'vod', title: 'Sigterm' }, upload: { partSize: MiB, parallel: 2 } });
  await stack.waitFor(r.body.id, { done: (j) => j.progress.partsUploaded >= 6 });
  const busy = stack.workers.find((w) => w.proc.output().includes(`"jobId":"${r.body.id}"`))!;
  assert.ok(busy, 'one worker runs the job');
  const started = Date.now();
  assert.equal(await busy.proc.stop(20_000), 0, 'the worker exits 0');
  assert.ok(Date.now() - started < 12_000, 'within the grace period');
  assert.match(busy.proc.output(), /"msg":"JobHandedBack"/);

  const job = await stack.waitFor(r.body.id, { timeoutMs: 60_000 });
  await stack.emu.clearFaults();
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.equal(await objectDigest(stack.emu, job.result!.bucket, job.result!.key), await fileDigest(file));
  const stats = await stack.emu.stats();
  assert.equal(stats.partsReplaced, 0, 'no finished part sent again');
  assert.equal(stats.requests.UploadPart, 24);
  assert.equal(stats.requests.CreateUploadVideo, 1);
});

test('SIGTERM to the api during a request: the request completes, the api exits 0', async () => {
  // An origin whose HEAD (the api's redirect pre-check) takes 1.5 s keeps a POST in flight.
  const origin: Server = createServer(
    (req, res) => void setTimeout(() => res.writeHead(200, { 'content-length': '10' }).end(req.method === 'HEAD' ? undefined : '0123456789'), 1500),
  );
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/a.mp4`;
  try {
    const inflight = stack.submit({ source: { type: 'url', url }, target: { type: 'oss', bucket: stack.emu.bucket, key: 'sigterm/api.mp4' } });
    await new Promise((r) => setTimeout(r, 400));
    const exit = stack.api.proc.stop(15_000);
    const res = await inflight;
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(await exit, 0);
  } finally {
    await new Promise((r) => origin.close(r));
  }
});

test('SIGTERM to the token service during an AssumeRole: the request completes, the lock is released, exit 0', async () => {
  const redis = new Redis(stack.redis.url);
  try {
    await redis.del('{vod-ingest}:sts:client');
    await stack.emu.addFaults([{ action: 'AssumeRole', rate: 1, latencyMs: 1500 }]);
    const inflight = fetch(`${stack.token.url}/v1/credentials/client`, { headers: { authorization: `Bearer ${stack.token.secret}` } });
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await redis.exists('{vod-ingest}:sts:client:lock'), 1, 'the lock is held during AssumeRole');
    const exit = stack.token.proc.stop(15_000);
    const res = await inflight;
    assert.equal(res.status, 200);
    assert.equal(await exit, 0);
    assert.equal(await redis.exists('{vod-ingest}:sts:client:lock'), 0, 'the lock is released');
  } finally {
    await stack.emu.clearFaults();
    redis.disconnect();
  }
});

/** Pids of this process's running children (zombies not counted: they have exited). */
function childPids(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((pid) => {
      try {
        // The command name (field 2) may hold spaces and parentheses: the fields after it follow its last ')'.
        const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(ppid) === process.pid && state !== 'Z' ? [Number(pid)] : [];
      } catch {
        return [];
      }
    });
}

test('a stack that fails to start stops what it started: no Redis, emulator, token service or api left running', async () => {
  const running = childPids();
  // The worker is refused before it is spawned (its LOG_LEVEL would hide the line the helpers wait for): everything else is up by then.
  await assert.rejects(startStack({ workerEnv: { LOG_LEVEL: 'warn' } }), /LOG_LEVEL=warn/);
  assert.deepEqual(childPids(), running);
});
