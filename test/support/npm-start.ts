import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT, stablePorts } from '@vod-ingest/shared/testing';

/**
 * One `npm start` as a newcomer runs it, as real processes: its own ports, a temp directory holding
 * its data directory, and a marker in its environment that every process it starts inherits — so
 * a survivor is found in /proc even after it was re-parented.
 */
export interface NpmStartRun {
  proc: ChildProcess;
  pid: number;
  marker: string;
  /** The run's temp directory (removed by the caller); the data directory is inside it. */
  tmp: string;
  dataDir: string;
  ports: { api: number; token: number; worker: number; emulator: number };
  output(): string;
  stderr(): string;
  /** Resolves with npm's exit. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

/**
 * Runs `npm start` with nothing of our environment but PATH and HOME, plus `env`. The data
 * directory is `<tmp>/data`, not created here (npm start creates it).
 */
export async function spawnNpmStart(env: Record<string, string>): Promise<NpmStartRun> {
  const marker = randomBytes(8).toString('hex');
  const tmp = mkdtempSync(path.join(tmpdir(), 'vod-ingest-start-'));
  const dataDir = path.join(tmp, 'data');
  const ports = { api: await stablePorts(), token: await stablePorts(), worker: await stablePorts(2), emulator: await stablePorts() };
  const proc = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      VOD_INGEST_TEST_RUN: marker,
      VOD_INGEST_DATA_DIR: dataDir,
      API_PORT: String(ports.api),
      TOKEN_PORT: String(ports.token),
      WORKER_PORT: String(ports.worker),
      EMULATOR_PORT: String(ports.emulator),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => ((err += d.toString()), (out += d.toString())));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    pid: proc.pid!,
    marker,
    tmp,
    dataDir,
    ports,
    output: () => out,
    stderr: () => err,
    exited,
    async waitFor(text, timeoutMs = 60_000) {
      for (const end = Date.now() + timeoutMs; !out.includes(text); await sleep(100)) {
        if (Date.now() > end) throw new Error(`no "${text}" within ${timeoutMs} ms; output:\n${out}`);
      }
    },
  };
}

/**
 * Live (non-zombie) processes of a run: its marker in their environment, or their working directory
 * in its temp directory (redis-server rewrites its title over its environment, hiding the marker,
 * and works in its data directory).
 */
export function survivors(run: Pick<NpmStartRun, 'marker' | 'tmp'>): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`VOD_INGEST_TEST_RUN=${run.marker}`) && !cwdIn(pid, run.tmp)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim()}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function cwdIn(pid: string, dir: string): boolean {
  try {
    return readlinkSync(`/proc/${pid}/cwd`).startsWith(dir);
  } catch {
    return false;
  }
}
