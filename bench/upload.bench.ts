/**
 * One large file to an oss target through the whole pipeline (POST /v1/jobs → queue → one worker
 * with WORKER_CONCURRENCY=1 → emulator), side by side with ali-oss's own `multipartUpload` of the
 * same file, same part size and parallelism, same emulator, run in a process of its own
 * (bench/ali-oss-upload.ts). The two alternate (ABAB) after one warm-up each. For each uploader:
 * MB/s (median, 1 MB = 10^6 bytes), CPU-seconds per GiB of the uploading process (the worker, the
 * ali-oss child; utime + stime from /proc), its peak RSS during the upload (VmHWM, reset before each
 * round), and the ratios ours/ali-oss; the other processes' CPU per GiB for information. The
 * worker's peak from its start through its first upload (the warm-up) is printed beside its
 * rounds': a fresh process, not only a warmed-up one, is held to the budget.
 * Every object is checked: the warm-ups' SHA-256 against the file's, every round's CRC-64 (our
 * job's result, the ali-oss object's `x-oss-hash-crc64ecma`) against the file's.
 *   npm run bench:upload                                   (512 MiB, 3 rounds each)
 *   BENCH_UPLOAD_MIB=2048 BENCH_UPLOAD_ROUNDS=2 npm run bench:upload
 *   BENCH_UPLOAD_CPU_PROF=/tmp/prof npm run bench:upload   (the worker writes a .cpuprofile there on exit)
 * Needs the compiled services: the npm script builds first.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Crc64, crc64Backend } from '@vod-ingest/shared';
import { adminOss, fileDigest, objectDigest, startStack, writeRandomFile, type Stack } from '../test/e2e/stack.js';
import { JobEventTail } from './job-events.js';
import { median } from './load.js';
import { CpuMeter, findRedisPid } from './proc-cpu.js';
import { currentRss, peakRss, resetPeakRss } from './proc-mem.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const size = Number(process.env.BENCH_UPLOAD_MIB ?? '512') * MiB;
const rounds = Number(process.env.BENCH_UPLOAD_ROUNDS ?? '3');
const profDir = process.env.BENCH_UPLOAD_CPU_PROF;
const partSize = 8 * MiB;
const parallel = 5;
const here = path.dirname(fileURLToPath(import.meta.url));

interface Run {
  seconds: number;
  /** CPU seconds of each process over the round. */
  cpu: Record<string, number>;
  /** Peak RSS of the uploading process during the round, bytes. */
  peakRss: number;
}

interface Uploader {
  name: string;
  /** The process that uploads: its CPU and RSS are the figures. */
  pid: number;
  /** Uploads the file to `key`; resolves to the seconds it took and the object's CRC-64 as the uploader knows it. */
  upload(key: string): Promise<{ seconds: number; crc64: string }>;
}

/** Our pipeline: submit, then the time at which the worker wrote `job.succeeded` (see JobEventTail); the CRC-64 of the job's result. */
function pipelineUploader(stack: Stack, tail: JobEventTail, file: string): Uploader {
  return {
    name: 'vod-ingest worker',
    pid: stack.workers[0]!.proc.pid,
    async upload(key) {
      const t0 = Date.now();
      const r = await stack.submit({
        source: { type: 'file', path: file },
        target: { type: 'oss', bucket: stack.emu.bucket, key },
        upload: { partSize, parallel },
      });
      if (r.status !== 202) throw new Error(`submit: ${r.status} ${JSON.stringify(r.body)}`);
      const t = await tail.wait(r.body.id);
      if (t.type !== 'job.succeeded') throw new Error(`job ${r.body.id} ended ${t.type}: ${JSON.stringify((await stack.job(r.body.id)).error)}`);
      const job = await stack.job(r.body.id);
      return { seconds: (t.endedMs - t0) / 1000, crc64: job.result?.crc64 ?? 'none' };
    },
  };
}

/** ali-oss `multipartUpload` in its own process (bench/ali-oss-upload.ts); the CRC-64 OSS reports for the object. */
async function aliOssUploader(stack: Stack, file: string): Promise<Uploader & { child: ChildProcess }> {
  const options = {
    endpoint: stack.emu.url,
    region: stack.emu.region,
    accessKeyId: stack.emu.accessKeyId,
    accessKeySecret: stack.emu.accessKeySecret,
    bucket: stack.emu.bucket,
    file,
    partSize,
    parallel,
  };
  const child = fork(path.join(here, 'ali-oss-upload.ts'), [JSON.stringify(options)], {
    execArgv: ['--conditions=development', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies = new Map<string, (m: { ms?: number; error?: string }) => void>();
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`ali-oss child exited ${code}`)));
    child.on('message', (m: { ready?: boolean; key?: string; ms?: number; error?: string }) => {
      if (m.ready) resolve();
      else if (m.key !== undefined) replies.get(m.key)?.(m);
    });
  });
  const oss = await adminOss(stack.emu, stack.emu.bucket);
  return {
    name: 'ali-oss multipartUpload (own process)',
    pid: child.pid!,
    child,
    async upload(key) {
      const reply = await new Promise<{ ms?: number; error?: string }>((resolve) => {
        replies.set(key, resolve);
        child.send({ key });
      });
      replies.delete(key);
      if (reply.error !== undefined) throw new Error(`ali-oss ${key}: ${reply.error}`);
      const head = await oss.head(key);
      return { seconds: reply.ms! / 1000, crc64: String((head.res.headers as Record<string, string>)['x-oss-hash-crc64ecma']) };
    },
  };
}

async function fileCrc64(file: string): Promise<string> {
  const crc = new Crc64();
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) crc.update(chunk as Buffer);
  return crc.digestString();
}

async function measure(u: Uploader, key: string, meter: CpuMeter, wantCrc: string): Promise<Run> {
  if (!resetPeakRss(u.pid)) throw new Error(`cannot reset the peak RSS of ${u.name} (pid ${u.pid})`);
  meter.start();
  const { seconds, crc64 } = await u.upload(key);
  const cpu = meter.stop().cpu;
  const peak = peakRss(u.pid);
  if (crc64 !== wantCrc) throw new Error(`${u.name} ${key}: CRC-64 ${crc64}, the file's is ${wantCrc}`);
  return { seconds, cpu, peakRss: peak };
}

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

interface Summary {
  mbps: number;
  cpuPerGiB: number;
  peakMB: number;
}

/** Prints one uploader's figures; `self` names its process in the runs' CPU. */
function report(u: Uploader, self: string, runs: Run[]): Summary {
  const mbps = runs.map((r) => size / 1e6 / r.seconds);
  const gib = (runs.length * size) / GiB;
  const cpu: Record<string, number> = {};
  for (const r of runs) for (const [p, s] of Object.entries(r.cpu)) cpu[p] = (cpu[p] ?? 0) + s;
  const perRound = runs.map((r) => r.cpu[self]! / (size / GiB));
  const peaks = runs.map((r) => r.peakRss / 1e6);
  const s = { mbps: median(mbps), cpuPerGiB: cpu[self]! / gib, peakMB: Math.max(...peaks) };
  console.log(`${u.name} (pid ${u.pid})`);
  console.log(`  throughput      ${fmt(s.mbps, 0).padStart(6)} MB/s median        rounds ${mbps.map((m) => fmt(m, 0)).join(', ')}`);
  console.log(`  CPU per GiB     ${fmt(s.cpuPerGiB).padStart(6)} s (user+sys)      rounds ${perRound.map((c) => fmt(c)).join(', ')}`);
  console.log(`  peak RSS        ${fmt(s.peakMB, 0).padStart(6)} MB (max VmHWM)      rounds ${peaks.map((m) => fmt(m, 0)).join(', ')}`);
  const others = Object.entries(cpu)
    .filter(([p, c]) => p !== self && Number.isFinite(c) && c > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([p, c]) => `${p} ${fmt(c / gib)}`);
  console.log(`  other processes, CPU-s per GiB meanwhile: ${others.join(' · ')}`);
  return s;
}

const workerEnv: Record<string, string> = { WORKER_CONCURRENCY: '1' };
if (profDir) {
  // Node 20 refuses --cpu-prof in NODE_OPTIONS; a preloaded module runs the same V8 profiler
  // through node:inspector and writes worker-<pid>.cpuprofile when the worker exits.
  mkdirSync(profDir, { recursive: true });
  const preload = path.join(profDir, 'cpu-prof-preload.mjs');
  writeFileSync(
    preload,
    `const { Session } = await import('node:inspector');
const { writeFileSync } = await import('node:fs');
const session = new Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.setSamplingInterval', { interval: 200 });
session.post('Profiler.start');
process.on('exit', () => session.post('Profiler.stop', (err, res) => {
  if (!err) writeFileSync(${JSON.stringify(profDir)} + '/worker-' + process.pid + '.cpuprofile', JSON.stringify(res.profile));
}));
`,
  );
  workerEnv.NODE_OPTIONS = `--import=${preload}`;
}
const stack = await startStack({ workers: 1, workerEnv });
const tail = await JobEventTail.open(stack.redis.url).catch(async (err: unknown) => {
  await stack.stop();
  throw err;
});
let child: ChildProcess | undefined;
try {
  const file = path.join(stack.inbox, 'bench-upload.bin');
  await writeRandomFile(file, size);
  const wantCrc = await fileCrc64(file);
  const oss = await adminOss(stack.emu, stack.emu.bucket);
  const ours = pipelineUploader(stack, tail, file);
  const ali = await aliOssUploader(stack, file);
  child = ali.child;
  const meter = new CpuMeter({
    worker: ours.pid,
    'ali-oss child': ali.pid,
    api: stack.api.proc.pid,
    token: stack.token.proc.pid,
    emulator: stack.emu.proc.pid,
    redis: findRedisPid(Number(new URL(stack.redis.url).port)),
    bench: process.pid,
  });
  const load0 = loadavg()[0]!;

  const idleRss = { ours: currentRss(ours.pid), ali: currentRss(ali.pid) };
  // Peak RSS since each process started (start-up included), before any reset.
  const startPeak = { ours: peakRss(ours.pid), ali: peakRss(ali.pid) };
  const warm = { ours: await measure(ours, 'bench/warmup-ours.bin', meter, wantCrc), ali: await measure(ali, 'bench/warmup-ali-oss.bin', meter, wantCrc) };
  const want = await fileDigest(file);
  for (const key of ['bench/warmup-ours.bin', 'bench/warmup-ali-oss.bin']) {
    const got = await objectDigest(stack.emu, stack.emu.bucket, key);
    if (got !== want) throw new Error(`${key}: SHA-256 ${got} differs from the file's ${want}`);
    await oss.delete(key);
  }
  const runs = { ours: [] as Run[], ali: [] as Run[] };
  for (let r = 0; r < rounds; r++) {
    // Each object is deleted after its round so the emulator's disk holds one at a time.
    runs.ours.push(await measure(ours, `bench/ours-${r}.bin`, meter, wantCrc));
    await oss.delete(`bench/ours-${r}.bin`);
    runs.ali.push(await measure(ali, `bench/ali-oss-${r}.bin`, meter, wantCrc));
    await oss.delete(`bench/ali-oss-${r}.bin`);
  }

  console.log(
    `\nUpload of ${size / MiB} MiB, part size ${partSize / MiB} MiB, parallel ${parallel}, ${rounds} rounds each ABAB after one warm-up each (Node ${process.version}, ${cpus().length} cores, CRC-64 ${crc64Backend().kernel} in the bench, Redis ${stack.redis.kind}, load average ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)})`,
  );
  console.log(
    `Checked: SHA-256 of both warm-up objects equals the file's (${want.slice(0, 16)}...); CRC-64 of every object equals the file's (${wantCrc}), ours from the job's result.`,
  );
  console.log(
    `Before the warm-ups: RSS worker ${fmt(idleRss.ours / 1e6, 0)} MB (peak since its start ${fmt(startPeak.ours / 1e6, 0)}), ali-oss child ${fmt(idleRss.ali / 1e6, 0)} MB (${fmt(startPeak.ali / 1e6, 0)}); peak RSS during the warm-up (first) upload: worker ${fmt(warm.ours.peakRss / 1e6, 0)} MB, ali-oss child ${fmt(warm.ali.peakRss / 1e6, 0)} MB`,
  );
  // A fresh worker's peak: its start-up, its first credential and its first upload.
  const freshPeakMB = Math.max(startPeak.ours, warm.ours.peakRss) / 1e6;
  const a = report(ours, 'worker', runs.ours);
  const b = report(ali, 'ali-oss child', runs.ali);
  console.log(
    `ours/ali-oss: throughput ${fmt(a.mbps / b.mbps)}x · CPU per GiB ${fmt(a.cpuPerGiB / b.cpuPerGiB)}x (target ≤ 1.2) · peak RSS ${fmt(a.peakMB / b.peakMB)}x (worker ${fmt(a.peakMB, 0)} MB in the rounds, ${fmt(freshPeakMB, 0)} MB from its start through its first upload; target ≤ 120 MB at 2 GiB, both)`,
  );
} finally {
  child?.disconnect();
  await tail.close();
  await stack.stop();
  if (profDir) console.log(`worker CPU profile: ${profDir}`);
}
