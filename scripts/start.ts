/**
 * `npm start`: the local stack in one command — Redis (REDIS_URL, else one already on 6379, else a
 * `redis-server` child with its data in .data/redis), the emulator (unless ALIBABA_CLOUD_ACCESS_KEY_ID
 * points at the real cloud), the token service, the api and two workers (WORKER_PORT and the next
 * port). Prints the API URL, the local API key and a job to try; Ctrl-C stops everything.
 * Services run from their TypeScript sources (no build needed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
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
interface LocalSecrets {
  apiKey: string;
  serviceSecret: string;
  cacheKey: string;
  emulatorKeyId: string;
  emulatorSecret: string;
  headersKey: string;
  webhookSecret: string;
  vodCallbackKey: string;
}

function localSecrets(): LocalSecrets {
  const file = path.join(dataDir, 'local-secrets.json');
  const fresh = () => ({
    headersKey: randomBytes(32).toString('base64'),
    vodCallbackKey: randomBytes(18).toString('base64url'),
    webhookSecret: `whsec_${randomBytes(24).toString('base64')}`,
    apiKey: `local_${randomBytes(18).toString('base64url')}`,
    serviceSecret: randomBytes(24).toString('base64url'),
    cacheKey: randomBytes(32).toString('base64'),
    emulatorKeyId: `LTAI5tLocal${randomBytes(6).toString('hex')}`,
    emulatorSecret: randomBytes(24).toString('base64url'),
  });
  // Secrets added by later versions are generated for an older file too.
  const s: LocalSecrets = { ...fresh(), ...(existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalSecrets>) : {}) };
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

/** Runs `services/<name>/src/main.ts`; `worker-2` is a second process of `services/worker`. */
function service(name: string, port: number, childEnv: Record<string, string>, readyLine = 'Listening'): Promise<void> {
  const entry = path.join('services', name.replace(/-\d+$/, ''), 'src', 'main.ts');
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
    // VOD's event notifications go to the api, signed as VOD signs them.
    EMULATOR_VOD_CALLBACK_URL: `http://127.0.0.1:${ports.api}/v1/vod/events`,
    EMULATOR_VOD_CALLBACK_KEY: secrets.vodCallbackKey,
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
/**
 * TENANTS_FILE when given; else one written for the local tenant: its key, the emulator's bucket
 * (the whole of it) and VOD — what the walk-through below uses.
 */
function tenantsFile(): string {
  if (env.TENANTS_FILE) return path.resolve(env.TENANTS_FILE);
  const file = path.join(dataDir, 'tenants.json');
  const local = {
    apiKeys: [`sha256:${createHash('sha256').update(secrets.apiKey).digest('hex')}`],
    oss: [{ bucket: LOCAL_BUCKET, prefix: '' }],
    vod: true,
    origins: [`http://localhost:${ports.api}`],
  };
  writeFileSync(file, JSON.stringify({ tenants: { local } }, null, 2));
  return file;
}
const LOCAL_BUCKET = 'vod-ingest-media';

const inbox = env.INGEST_ROOTS ?? path.join(dataDir, 'inbox');
if (!env.INGEST_ROOTS) mkdirSync(inbox, { recursive: true });
const common = {
  REDIS_URL: redisUrl,
  TOKEN_SERVICE_URL: `http://127.0.0.1:${ports.token}`,
  TOKEN_SERVICE_SECRET: env.TOKEN_SERVICE_SECRET ?? secrets.serviceSecret,
  INGEST_ROOTS: inbox,
  SOURCE_HEADERS_KEY: env.SOURCE_HEADERS_KEY ?? secrets.headersKey,
  TENANTS_FILE: tenantsFile(),
  ...cloud,
};

await service('token', ports.token, {
  ...common,
  TOKEN_CACHE_KEY: env.TOKEN_CACHE_KEY ?? secrets.cacheKey,
  ALIBABA_CLOUD_ROLE_ARN: env.ALIBABA_CLOUD_ROLE_ARN ?? 'acs:ram::1000000000000000:role/vod-ingest-worker',
  CLIENT_ROLE_ARN: env.CLIENT_ROLE_ARN ?? 'acs:ram::1000000000000000:role/vod-ingest-client',
});
// API_KEYS, when given, sits beside the tenants file (its tenants: VOD, no OSS target).
await service('api', ports.api, {
  ...common,
  ...(env.API_KEYS ? { API_KEYS: env.API_KEYS } : {}),
  ...(useEmulator ? { VOD_CALLBACK_KEY: secrets.vodCallbackKey } : env.VOD_CALLBACK_KEY ? { VOD_CALLBACK_KEY: env.VOD_CALLBACK_KEY } : {}),
});
const workerEnv = { ...common, WEBHOOK_SECRET: env.WEBHOOK_SECRET ?? secrets.webhookSecret };
await Promise.all([service('worker-1', ports.worker, workerEnv), service('worker-2', ports.worker + 1, workerEnv)]);

const apiUrl = `http://localhost:${ports.api}`;
const ownTenants = !env.TENANTS_FILE;
const key = ownTenants ? secrets.apiKey : '<your key>';
console.log(`
vod-ingest is up.
  API        ${apiUrl}
  API key    ${ownTenants ? `${secrets.apiKey}  (tenant "local": OSS bucket ${LOCAL_BUCKET}, VOD)` : '(from TENANTS_FILE / API_KEYS)'}
  Tenants    ${common.TENANTS_FILE}
  Redis      ${redisUrl}
  Cloud      ${useEmulator ? `emulator at ${emulatorUrl}` : 'Alibaba Cloud (ALIBABA_CLOUD_ACCESS_KEY_ID is set)'}

  Inbox      ${inbox}  (file sources must be under INGEST_ROOTS)
  Workers    metrics at http://localhost:${ports.worker}/metrics and :${ports.worker + 1}
  Demo       ${apiUrl}/demo/${ownTenants ? `#key=${secrets.apiKey}` : ''}  (upload from your browser with Alibaba's SDK)

  Try it:
  head -c 20000000 /dev/urandom > ${path.join(inbox, 'clip.mp4')}
  curl -s -X POST ${apiUrl}/v1/jobs -H "Authorization: Bearer ${key}" -H 'Content-Type: application/json' \\
    -d '{"source":{"type":"file","path":"${path.join(inbox, 'clip.mp4')}"},"target":{"type":"vod","title":"My clip"}}'
  curl -s ${apiUrl}/v1/jobs/<id> -H "Authorization: Bearer ${key}"

Ctrl-C stops everything.`);
