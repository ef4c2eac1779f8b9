import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OSS from 'ali-oss';
import { freePort, REPO_ROOT } from '@vod-ingest/shared/testing';

/** `npm start` as a newcomer runs it, with its own ports and data directory, the emulator's admin API on. */
export interface NpmStack {
  apiUrl: string;
  emulatorUrl: string;
  apiKey: string;
  dataDir: string;
  inbox: string;
  /** The emulator's admin API: `GET`/`DELETE /__emulator/<path>`, `POST` with a JSON body. */
  admin(method: string, what: string, body?: unknown): Promise<Record<string, unknown>>;
  /** The stored object's bytes, read with the emulator's own key. */
  objectBytes(bucket: string, key: string): Promise<Buffer>;
  stop(): Promise<void>;
}

export async function startNpmStack(extraEnv: Record<string, string> = {}): Promise<NpmStack> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vod-ingest-cli-'));
  const ports = { api: await freePort(), token: await freePort(), worker: await freePortPair(), emulator: await freePort() };
  const proc = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      VOD_INGEST_DATA_DIR: dataDir,
      API_PORT: String(ports.api),
      TOKEN_PORT: String(ports.token),
      WORKER_PORT: String(ports.worker),
      EMULATOR_PORT: String(ports.emulator),
      EMULATOR_ADMIN: '1',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  for (const end = Date.now() + 90_000; !out.includes('vod-ingest is up'); await sleep(100)) {
    if (Date.now() > end || proc.exitCode !== null) {
      proc.kill('SIGTERM');
      throw new Error(`npm start did not come up:\n${out}`);
    }
  }
  const secrets = JSON.parse(readFileSync(path.join(dataDir, 'local-secrets.json'), 'utf8')) as Record<string, string>;
  const emulatorUrl = `http://localhost:${ports.emulator}`;
  return {
    apiUrl: `http://localhost:${ports.api}`,
    emulatorUrl,
    apiKey: secrets.apiKey,
    dataDir,
    inbox: path.join(dataDir, 'inbox'),
    async admin(method, what, body) {
      const res = await fetch(`${emulatorUrl}/__emulator/${what}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`emulator admin ${method} ${what}: ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, unknown>;
    },
    async objectBytes(bucket, key) {
      const oss = new OSS({
        endpoint: emulatorUrl,
        bucket,
        region: 'oss-cn-shanghai',
        secure: false,
        sldEnable: true,
        accessKeyId: secrets.emulatorKeyId,
        accessKeySecret: secrets.emulatorSecret,
      } as OSS.Options);
      return (await oss.get(key)).content as Buffer;
    },
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A port P with P + 1 free too (the second worker's). */
async function freePortPair(): Promise<number> {
  for (;;) {
    const p = await freePort();
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(p + 1, '0.0.0.0', () => srv.close(() => resolve(true)));
    });
    if (free) return p;
  }
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export const CLI_BIN = path.join(REPO_ROOT, 'node_modules', '.bin', 'vod-ingest');

/** Starts `vod-ingest` (the bin npm links into node_modules/.bin) as a process. */
export function startCli(args: string[], env: Record<string, string>) {
  const proc = spawn(CLI_BIN, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: CliRun = { code: null, signal: null, stdout: '', stderr: '' };
  proc.stdout.on('data', (d: Buffer) => (run.stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (run.stderr += d.toString()));
  const done = new Promise<CliRun>((resolve) =>
    proc.once('close', (code, signal) => {
      run.code = code;
      run.signal = signal;
      resolve(run);
    }),
  );
  return { proc, run, done };
}

/** Runs `vod-ingest` to its end. */
export function cli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return startCli(args, env).done;
}
