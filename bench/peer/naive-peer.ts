import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { forEachConcurrent, type JobRunner } from '../load.js';
import type { PeerOutcome } from './naive-worker.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');

/** A peer process (`node --conditions=development --import tsx bench/peer/<file>`) with an IPC channel. */
export interface PeerProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts `file` and resolves with the process and its first IPC message. */
async function startPeerProcess<T>(file: string, env: Record<string, string>): Promise<{ proc: PeerProcess; first: T }> {
  const child = spawn(process.execPath, ['--conditions=development', '--import', 'tsx', path.join(HERE, file)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file}: not ready within 30 s; output:\n${out}`)), 30_000);
    child.once('message', (m) => (clearTimeout(timer), resolve(m as T)));
    void exited.then(() => (clearTimeout(timer), reject(new Error(`${file} exited before it was ready; output:\n${out}`))));
  });
  const proc: PeerProcess = {
    pid: child.pid!,
    child,
    output: () => out,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return { proc, first };
}

export interface NaivePeerOptions {
  redisUrl: string;
  /** BullMQ prefix of the peer's queue. Defaults to `{naive}`. */
  prefix?: string;
  /** Where the workers get their one STS credential. */
  tokenService: { url: string; secret: string };
  /** ali-oss `endpoint` (path style) and `region` (`oss-<region>`). */
  oss: { endpoint: string; region: string };
  submitters: number;
}

/**
 * The naive peer (bench/peer/naive-api.ts, naive-worker.ts): its api runs for the whole bench,
 * its workers from `startWorkers` to `stopWorkers`. Completions come from the workers over IPC,
 * so that watching the peer sends Redis nothing.
 */
export class NaivePeer {
  readonly workers: PeerProcess[] = [];
  private readonly outcomes = new Map<string, PeerOutcome>();
  private readonly waiters = new Map<string, (o: PeerOutcome) => void>();

  private constructor(
    private readonly opts: NaivePeerOptions,
    readonly api: PeerProcess,
    private readonly apiUrl: string,
    private readonly apiKey: string,
  ) {}

  static async start(opts: NaivePeerOptions): Promise<NaivePeer> {
    const apiKey = randomBytes(16).toString('hex');
    const { proc, first } = await startPeerProcess<{ port: number }>('naive-api.ts', {
      REDIS_URL: opts.redisUrl,
      PEER_PREFIX: opts.prefix ?? '{naive}',
      PEER_API_KEY: apiKey,
    });
    return new NaivePeer(opts, proc, `http://127.0.0.1:${first.port}`, apiKey);
  }

  async startWorkers(count: number, concurrency: number): Promise<void> {
    const env = {
      REDIS_URL: this.opts.redisUrl,
      PEER_PREFIX: this.opts.prefix ?? '{naive}',
      WORKER_CONCURRENCY: String(concurrency),
      TOKEN_SERVICE_URL: this.opts.tokenService.url,
      TOKEN_SERVICE_SECRET: this.opts.tokenService.secret,
      OSS_ENDPOINT: this.opts.oss.endpoint,
      OSS_REGION: this.opts.oss.region,
    };
    const started = await Promise.all(Array.from({ length: count }, () => startPeerProcess<{ ready: true }>('naive-worker.ts', env)));
    for (const { proc } of started) {
      proc.child.on('message', (m: { outcomes?: PeerOutcome[] }) => {
        for (const o of m.outcomes ?? []) this.record(o);
      });
      this.workers.push(proc);
    }
  }

  async stopWorkers(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.stop()));
  }

  async stop(): Promise<void> {
    await this.stopWorkers();
    await this.api.stop();
  }

  /** A runner that puts `file` to `bucket` under `bench/<label>/<i>.bin` through the peer. */
  runner(file: string, bucket: string): JobRunner {
    return async (count, label) => {
      const accepted: Array<{ id: string; submitMs: number; acceptedMs: number }> = [];
      await forEachConcurrent(count, this.opts.submitters, async (i) => {
        const submitMs = Date.now();
        const res = await fetch(`${this.apiUrl}/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': this.apiKey },
          body: JSON.stringify({ source: { path: file }, target: { bucket, key: `bench/${label}/${i}.bin` } }),
        });
        const body = (await res.json()) as { id: string };
        if (res.status !== 202) throw new Error(`naive submit: ${res.status} ${JSON.stringify(body)}`);
        accepted.push({ id: body.id, submitMs, acceptedMs: Date.now() });
      });
      return Promise.all(
        accepted.map(async (a) => {
          const [, startedMs, endedMs, ok] = await this.wait(a.id);
          if (!ok) throw new Error(`naive job ${a.id} failed:\n${this.workers.map((w) => w.output()).join('\n')}`);
          return { submitMs: a.submitMs, acceptedMs: a.acceptedMs, startedMs, endedMs };
        }),
      );
    };
  }

  private record(o: PeerOutcome): void {
    const waiter = this.waiters.get(o[0]);
    if (!waiter) return void this.outcomes.set(o[0], o);
    this.waiters.delete(o[0]);
    waiter(o);
  }

  private wait(id: string, timeoutMs = 600_000): Promise<PeerOutcome> {
    const done = this.outcomes.get(id);
    if (done) {
      this.outcomes.delete(id);
      return Promise.resolve(done);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`naive job ${id}: no outcome within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.set(id, (o) => (clearTimeout(timer), resolve(o)));
    });
  }
}
