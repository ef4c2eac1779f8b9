/**
 * `npm start`: the local stack in one command — Redis (REDIS_URL, else one already on 6379, else a
 * `redis-server` child with its data in .data/redis), the emulator (unless ALIBABA_CLOUD_ACCESS_KEY_ID
 * points at the real cloud), the token service and the api. Prints the API URL and the local API
 * key; Ctrl-C stops everything. Services run from their TypeScript sources (no build needed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForPort } from '@vod-ingest/shared/testing';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.join(root, '.data');
mkdirSync(dataDir, { recursive: true });
const env = process.env;
const ports = {
  api: Number(env.API_PORT ?? 3000),
  token: Number(env.TOKEN_PORT ?? 3001),
  worker: Number(env.WORKER_PORT ?? 3002),
  emulator: Number(env.EMULATOR_PORT ?? 9100),
};

/** Secrets of the local stack, generated once and kept in .data so restarts keep them. */
function localSecrets(): { apiKey: string; serviceSecret: string; cacheKey: string; emulatorKeyId: string; emulatorSecret: string } {
  const file = path.join(dataDir, 'local-secrets.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const s = {
    apiKey: `local_${randomBytes(18).toString('base64url')}`,
    serviceSecret: randomBytes(24).toString('base64url'),
    cacheKey: randomBytes(32).toString('base64'),
    emulatorKeyId: `LTAI5tLocal${randomBytes(6).toString('hex')}`,
    emulatorSecret: randomBytes(24).toString('base64url'),
  };
  writeFileSync(file, JSON.stringify(s, null, 2), { mode: 0o600 });
  return s;
}

function answers(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, host);
    sock.once('connect', () => (sock.destroy(), resolve(true)));
    sock.once('error', () => resolve(false));
  });
}

const children: Array<{ name: string; child: ChildProcess }> = [];
let stopping = false;

function run(name: string, command: string, args: string[], childEnv: Record<string, string>, readyLine?: string): Promise<void> {
  const child = spawn(command, args, { cwd: root, env: { ...env, ...childEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push({ name, child });
  return new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      if (!line) return;
      process.stdout.write(`[${name}] ${line}\n`);
      if (readyLine && line.includes(`"msg":"${readyLine}"`)) resolve();
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let buf = '';
      stream.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop()!;
        lines.forEach(onLine);
      });
    }
    child.once('exit', (code) => {
      if (!stopping) {
        console.error(`[${name}] exited with ${code}; stopping the stack`);
        void shutdown(1);
      }
      reject(new Error(`${name} exited`));
    });
    if (!readyLine) resolve();
  });
}

function service(name: string, port: number, childEnv: Record<string, string>, readyLine = 'Listening'): Promise<void> {
  const entry = path.join('services', name, 'src', 'main.ts');
  return run(name, process.execPath, ['--conditions=development', '--import', 'tsx', entry], { PORT: String(port), ...childEnv }, readyLine);
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const { child } of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => (child.kill('SIGKILL'), r(null)), 10_000);
      child.once('exit', () => (clearTimeout(t), r(null)));
    });
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

const secrets = localSecrets();

let redisUrl = env.REDIS_URL;
if (!redisUrl) {
  if (await answers(6379)) {
    redisUrl = 'redis://127.0.0.1:6379';
  } else {
    const redisDir = path.join(dataDir, 'redis');
    mkdirSync(redisDir, { recursive: true });
    await run('redis', 'redis-server', ['--port', '6379', '--bind', '127.0.0.1', '--dir', redisDir, '--appendonly', 'yes', '--appendfsync', 'everysec'], {});
    await waitForPort(6379);
    redisUrl = 'redis://127.0.0.1:6379';
  }
}

const useEmulator = !env.ALIBABA_CLOUD_ACCESS_KEY_ID;
const emulatorUrl = `http://localhost:${ports.emulator}`;
if (useEmulator) {
  await service('emulator', ports.emulator, {
    EMULATOR_ACCESS_KEY_ID: secrets.emulatorKeyId,
    EMULATOR_ACCESS_KEY_SECRET: secrets.emulatorSecret,
    EMULATOR_DATA_DIR: path.join(dataDir, 'emulator'),
    EMULATOR_PUBLIC_URL: emulatorUrl,
  }, 'EmulatorListening');
}
const cloud: Record<string, string> = useEmulator
  ? {
      ALIBABA_CLOUD_ACCESS_KEY_ID: secrets.emulatorKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: secrets.emulatorSecret,
      STS_ENDPOINT: emulatorUrl,
      VOD_ENDPOINT: emulatorUrl,
      OSS_ENDPOINT: emulatorUrl,
    }
  : {};
const common = { REDIS_URL: redisUrl, TOKEN_SERVICE_URL: `http://127.0.0.1:${ports.token}`, TOKEN_SERVICE_SECRET: env.TOKEN_SERVICE_SECRET ?? secrets.serviceSecret, ...cloud };

await service('token', ports.token, {
  ...common,
  TOKEN_CACHE_KEY: env.TOKEN_CACHE_KEY ?? secrets.cacheKey,
  ALIBABA_CLOUD_ROLE_ARN: env.ALIBABA_CLOUD_ROLE_ARN ?? 'acs:ram::1000000000000000:role/vod-ingest-worker',
  CLIENT_ROLE_ARN: env.CLIENT_ROLE_ARN ?? 'acs:ram::1000000000000000:role/vod-ingest-client',
});
await service('api', ports.api, { ...common, API_KEYS: env.API_KEYS ?? `local:${secrets.apiKey}` });

const apiUrl = `http://localhost:${ports.api}`;
console.log(`
vod-ingest is up.
  API        ${apiUrl}
  API key    ${env.API_KEYS ? '(from API_KEYS)' : secrets.apiKey}
  Redis      ${redisUrl}
  Cloud      ${useEmulator ? `emulator at ${emulatorUrl}` : 'Alibaba Cloud (ALIBABA_CLOUD_ACCESS_KEY_ID is set)'}

  curl -s -X POST ${apiUrl}/v1/sts-tokens -H "Authorization: Bearer ${env.API_KEYS ? '<your key>' : secrets.apiKey}"

Ctrl-C stops everything.`);
