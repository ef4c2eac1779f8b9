import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root (tests and helpers start services from here). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Node flags a service runs with, in tests and in production (`npm run start:prod`, the container
 * image). A 2 MB young-generation cap keeps V8 from growing its semi-spaces to 16 MB each under
 * the allocation rate of streaming uploads: ~28 MB less peak RSS, same throughput. The api
 * streams nothing and allocates per request: it keeps V8's 16 MB, where a 2 MB cap made it
 * collect eight times as often (GC was 11% of its samples in a profile of bench:jobs). A one-off
 * harness, not kept (3,000 submissions at a time, no workers, 4 alternated pairs of fresh stacks),
 * measured 0.91 ms of api CPU per submission with 16 MB, 0.97 with 2 MB.
 */
export function serviceNodeFlags(name: string): string[] {
  return ['--enable-source-maps', `--max-semi-space-size=${name === 'api' ? 16 : 2}`];
}

/** A service started as a real child process, with everything it printed kept for assertions. */
export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves with the first JSON log line whose `msg` is `msg` (waits up to `timeoutMs`). */
  waitForLog(msg: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Peak resident set size so far, in bytes (Linux `VmHWM`). */
  peakRssBytes(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL now. */
  kill(): Promise<void>;
}

/**
 * Starts `services/<name>/dist/main.js` — the compiled service, as production runs it — with the
 * given environment (and nothing else from ours but PATH and HOME).
 */
export function startServiceProcess(name: string, env: Record<string, string>): ServiceProcess {
  if (['warn', 'error', 'fatal', 'silent'].includes(env.LOG_LEVEL ?? '')) {
    // The helpers wait for the service's start-up line, which is logged at info.
    throw new Error(`${name}: LOG_LEVEL=${env.LOG_LEVEL} would hide the start-up log line the test helpers wait for; use info or lower`);
  }
  const entry = path.join(REPO_ROOT, 'services', name, 'dist', 'main.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "npm run build" first (npm test does)`);
  const child = spawn(process.execPath, [...serviceNodeFlags(name), entry], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters: Array<{ msg: string; resolve: (v: Record<string, unknown>) => void }> = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const onData = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    out += text;
    if (waiters.length === 0) return; // nobody waits for a line: nothing to parse
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line);
      } catch {
        continue;
      }
      for (const w of waiters.filter((x) => x.msg === rec.msg)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(rec);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);

  return {
    child,
    pid: child.pid!,
    output: () => out,
    waitForLog(msg, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name}: no "${msg}" log within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
        const waiter = { msg, resolve: (v: Record<string, unknown>) => (clearTimeout(timer), resolve(v)) };
        waiters.push(waiter);
        void exited.then((code) => {
          if (waiters.includes(waiter)) {
            clearTimeout(timer);
            reject(new Error(`${name} exited with ${code} before "${msg}"; output:\n${out}`));
          }
        });
      });
    },
    peakRssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const m = /VmHWM:\s+(\d+) kB/.exec(status);
      return m ? Number(m[1]) * 1024 : NaN;
    },
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
