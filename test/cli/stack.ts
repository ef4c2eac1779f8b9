import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import OSS from 'ali-oss';
import { REPO_ROOT } from '@vod-ingest/shared/testing';
import { spawnNpmStart } from '../support/npm-start.js';

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
  /** When npm start ended before `stop()`: how, with the end of its output; else undefined. */
  ended(): string | undefined;
  stop(): Promise<void>;
}

export async function startNpmStack(extraEnv: Record<string, string> = {}): Promise<NpmStack> {
  const run = await spawnNpmStart({ EMULATOR_ADMIN: '1', ...extraEnv });
  const { proc, dataDir, ports } = run;
  const exited = run.exited;
  const up = await Promise.race([
    run.waitFor('vod-ingest is up', 90_000).then(
      () => true,
      () => false,
    ),
    exited.then(() => false),
  ]);
  if (!up) {
    proc.kill('SIGTERM');
    throw new Error(`npm start did not come up:\n${run.output()}`);
  }
  const secrets = JSON.parse(readFileSync(path.join(dataDir, 'local-secrets.json'), 'utf8')) as Record<string, string>;
  const emulatorUrl = `http://localhost:${ports.emulator}`;
  let stopping = false;
  let end: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((e) => (end = e));
  const ended = () =>
    end && !stopping ? `npm start ended (code ${end.code}, signal ${end.signal}); its output ends:\n${run.output().slice(-6000)}` : undefined;
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
      }).catch((err: Error) => {
        const cause = err.cause as { code?: string; message?: string } | undefined;
        throw new Error(
          `emulator admin ${method} ${what}: ${err.message} (${cause?.code ?? cause?.message ?? 'no cause'})\n${ended() ?? 'npm start is still running'}`,
        );
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
    ended,
    async stop() {
      stopping = true;
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      rmSync(run.tmp, { recursive: true, force: true });
    },
  };
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
