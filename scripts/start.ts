/**
 * `npm start`: the local stack in one command — Redis (REDIS_CLUSTER_NODES for a Redis Cluster, else
 * REDIS_URL, else its own `redis-server` on a free port with its data in .data/redis; never whatever
 * answers on 6379), the emulator (unless
 * ALIBABA_CLOUD_ACCESS_KEY_ID points at the real cloud), the token service, the api and two
 * workers (WORKER_PORT and the next port). Says "up" only once every service answers `/readyz`
 * with 200, then prints the API URL, the local API key, the queue admin and a job to try.
 *
 * Any child that fails to start (a port taken, Redis unreachable, a bad setting) stops the whole
 * stack: one line says why, the exit code is 1. SIGINT, SIGTERM and SIGHUP stop every child —
 * services first, Redis last. VOD_INGEST_DATA_DIR (default `.data`) holds everything it keeps.
 * Services run from their TypeScript sources (no build needed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stablePorts, waitForPort } from '@vod-ingest/shared/testing';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
/** What every child inherits: our environment without the long-term RAM key (only the token service is given it). */
const { ALIBABA_CLOUD_ACCESS_KEY_ID: _keyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: _keySecret, ...inherited } = env;
const dataDir = path.resolve(env.VOD_INGEST_DATA_DIR ?? path.join(root, '.data'));
const ports = {
  api: Number(env.API_PORT ?? 3000),
  token: Number(env.TOKEN_PORT ?? 3001),
  worker: Number(env.WORKER_PORT ?? 3002),
  emulator: Number(env.EMULATOR_PORT ?? 9100),
};
const LOCAL_BUCKET = 'vod-ingest-media';
/** How long services get to answer /readyz before the start counts as failed. */
const READY_TIMEOUT_MS = 90_000;
/** A worker's own shutdown grace is 25 s + 5 s; past this it is killed. */
const STOP_GRACE_MS = 35_000;

// ---------------------------------------------------------------------------------------------
// Children: each in its own process group, so a terminal's Ctrl-C reaches only us and we stop
// them in order (services before the Redis they hand jobs back to).

interface Child {
  name: string;
  proc: ChildProcess;
  /** Non-JSON stderr lines: a service's one-line start-up error, or a config error listing. */
  errors: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; spawnError?: Error }>;
  done: boolean;
}

const children: Child[] = [];
let stopping = false;
let up = false;

function spawnChild(name: string, command: string, args: string[], childEnv: Record<string, string>): Child {
  const proc = spawn(command, args, { cwd: root, env: { ...inherited, ...childEnv }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  // Its last words (the line saying why it failed) may arrive just after 'exit'.
  const stderrEnded = new Promise((resolve) => proc.stderr!.once('close', resolve));
  const c: Child = {
    name,
    proc,
    errors: [],
    done: false,
    exited: new Promise((resolve) => {
      proc.once('exit', (code, signal) => void Promise.race([stderrEnded, sleep(200)]).then(() => resolve({ code, signal })));
      proc.once('error', (spawnError) => resolve({ code: null, signal: null, spawnError }));
    }),
  };
  children.push(c);
  forwardLines(proc.stdout!, (line) => process.stdout.write(`[${name}] ${line}\n`));
  forwardLines(proc.stderr!, (line) => {
    if (!line.startsWith('{')) c.errors.push(line);
    process.stdout.write(`[${name}] ${line}\n`);
  });
  void c.exited.then((exit) => {
    c.done = true;
    if (stopping) return;
    if (exit.spawnError)
      return fail(
        `cannot run ${command}: ${(exit.spawnError as { code?: string }).code ?? exit.spawnError.message}${command === 'redis-server' ? ' (install redis-server, or set REDIS_URL)' : ''}`,
      );
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    const said = c.errors.length === 1 ? `: ${c.errors[0]}` : c.errors.length > 1 ? `: ${c.errors[0].replace(/:$/, '')} (see [${name}] above)` : '';
    fail(`${name} ${how}${said}`);
  });
  return c;
}

function forwardLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = '';
  stream.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const line of lines) if (line) onLine(line);
  });
  stream.on('end', () => buf && onLine(buf));
}

/** One line on stderr, every child stopped, exit 1. */
function fail(reason: string): void {
  if (stopping) return;
  process.stderr.write(`vod-ingest ${up ? 'stopped' : 'did not start'}: ${reason}\n`);
  void stopAll(1);
}

/** Stops services (all at once), then Redis; a second signal kills what is left. Exits. */
async function stopAll(code: number): Promise<never> {
  stopping = true;
  const stop = async (c: Child) => {
    if (c.done) return;
    c.proc.kill('SIGTERM');
    const timer = setTimeout(() => c.proc.kill('SIGKILL'), STOP_GRACE_MS);
    const exit = await c.exited;
    clearTimeout(timer);
    if (exit.signal === 'SIGKILL') {
      process.stderr.write(`vod-ingest: ${c.name} did not stop within ${STOP_GRACE_MS / 1000} s and was killed\n`);
      code = code || 1;
    } else if (exit.code !== 0 && exit.signal !== 'SIGTERM') {
      process.stderr.write(`vod-ingest: ${c.name} stopped with ${exit.signal ?? `code ${exit.code}`}\n`);
      code = code || 1;
    }
  };
  await Promise.all(children.filter((c) => c.name !== 'redis').map(stop));
  await Promise.all(children.filter((c) => c.name === 'redis').map(stop));
  process.stdout.write(`vod-ingest stopped${code ? ` (exit code ${code})` : ''}.\n`);
  process.exit(code);
}

function onStopRequest(why: string): void {
  if (stopping) {
    for (const c of children) if (!c.done) c.proc.kill('SIGKILL');
    return;
  }
  process.stdout.write(`\nvod-ingest: ${why}, stopping every service…\n`);
  void stopAll(0);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => onStopRequest(signal));
// npm runs us under `sh -c`, which dies of the SIGTERM npm forwards without passing it on: when
// whoever started us is gone, stop as if signalled.
const parentPid = process.ppid;
setInterval(() => process.ppid !== parentPid && !stopping && onStopRequest('our parent process exited'), 250).unref();

/** Runs `services/<name>/src/main.ts`; `worker-2` is a second process of `services/worker`. */
function service(name: string, port: number, childEnv: Record<string, string>): Child {
  const entry = path.join('services', name.replace(/-\d+$/, ''), 'src', 'main.ts');
  return spawnChild(name, process.execPath, ['--conditions=development', '--import', 'tsx', entry], { PORT: String(port), ...childEnv });
}

/** Resolves once every service answers `GET /readyz` with 200; fails the start after READY_TIMEOUT_MS. */
async function allReady(services: Array<{ name: string; port: number }>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const last = new Map<string, string>();
  const waiting = new Set(services.map((s) => s.name));
  while (waiting.size > 0) {
    if (stopping) await new Promise(() => {}); // a child failed: stopAll exits
    if (Date.now() > deadline) {
      const detail = [...waiting].map((n) => `${n} (${last.get(n) ?? 'no answer'})`).join(', ');
      throw new Error(`not ready within ${READY_TIMEOUT_MS / 1000} s: ${detail}`);
    }
    await Promise.all(
      services
        .filter((s) => waiting.has(s.name))
        .map(async (s) => {
          try {
            const res = await fetch(`http://127.0.0.1:${s.port}/readyz`, { signal: AbortSignal.timeout(3000) });
            if (res.status === 200) waiting.delete(s.name);
            else last.set(s.name, `${res.status} ${await res.text()}`);
          } catch (err) {
            last.set(s.name, (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message);
          }
        }),
    );
    if (waiting.size > 0) await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------
// The stack.

/** Secrets of the local stack, generated once and kept in the data directory so restarts keep them. */
interface LocalSecrets {
  apiKey: string;
  serviceSecret: string;
  cacheKey: string;
  emulatorKeyId: string;
  emulatorSecret: string;
  headersKey: string;
  webhookSecret: string;
  vodCallbackKey: string;
  adminToken: string;
}

function localSecrets(): LocalSecrets {
  const file = path.join(dataDir, 'local-secrets.json');
  const fresh = (): LocalSecrets => ({
    headersKey: randomBytes(32).toString('base64'),
    vodCallbackKey: randomBytes(18).toString('base64url'),
    webhookSecret: `whsec_${randomBytes(24).toString('base64')}`,
    apiKey: `local_${randomBytes(18).toString('base64url')}`,
    serviceSecret: randomBytes(24).toString('base64url'),
    cacheKey: randomBytes(32).toString('base64'),
    emulatorKeyId: `LTAI5tLocal${randomBytes(6).toString('hex')}`,
    emulatorSecret: randomBytes(24).toString('base64url'),
    adminToken: `admin_${randomBytes(18).toString('base64url')}`,
  });
  // Secrets added by later versions are generated for an older file too.
  const s: LocalSecrets = { ...fresh(), ...(existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalSecrets>) : {}) };
  writeFileSync(file, JSON.stringify(s, null, 2), { mode: 0o600 });
  return s;
}

/**
 * A `redis-server` of our own on a free port, its data (AOF) in the data directory. The port is
 * below the ephemeral range: a free ephemeral port may be taken as the local end of some other
 * program's connection before redis-server binds it.
 */
async function ownRedis(): Promise<string> {
  const dir = path.join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await stablePorts();
  spawnChild(
    'redis',
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--loglevel', 'warning'],
    {},
  );
  await waitForPort(port, '127.0.0.1', 10_000);
  return `redis://127.0.0.1:${port}`;
}

/**
 * TENANTS_FILE when given; else one written for the local tenant: its key, the emulator's bucket
 * (the whole of it) and VOD — what the walk-through below uses.
 */
function tenantsFile(secrets: LocalSecrets): string {
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

async function main(): Promise<void> {
  // Against Alibaba Cloud the roles are real ones: the made-up defaults below are for the emulator only.
  const missingArns = env.ALIBABA_CLOUD_ACCESS_KEY_ID ? ['ALIBABA_CLOUD_ROLE_ARN', 'CLIENT_ROLE_ARN'].filter((name) => !env[name]) : [];
  if (missingArns.length > 0) {
    return fail(
      `ALIBABA_CLOUD_ACCESS_KEY_ID is set (Alibaba Cloud mode) but ${missingArns.join(' and ')} ${missingArns.length > 1 ? 'are' : 'is'} not: set the RAM role ARN${missingArns.length > 1 ? 's' : ''} (acs:ram::<account-id>:role/<name>), or unset ALIBABA_CLOUD_ACCESS_KEY_ID to use the emulator`,
    );
  }
  mkdirSync(dataDir, { recursive: true });
  const secrets = localSecrets();
  // A cluster's seeds reach every service through the inherited environment (they win over REDIS_URL).
  const clusterNodes = env.REDIS_CLUSTER_NODES?.trim();
  const ownsRedis = !env.REDIS_URL && !clusterNodes;
  const redisUrl = env.REDIS_URL || (clusterNodes ? '' : await ownRedis());

  const useEmulator = !env.ALIBABA_CLOUD_ACCESS_KEY_ID;
  const emulatorUrl = `http://localhost:${ports.emulator}`;
  if (useEmulator) {
    service('emulator', ports.emulator, {
      EMULATOR_ACCESS_KEY_ID: secrets.emulatorKeyId,
      EMULATOR_ACCESS_KEY_SECRET: secrets.emulatorSecret,
      EMULATOR_DATA_DIR: path.join(dataDir, 'emulator'),
      EMULATOR_PUBLIC_URL: emulatorUrl,
      // VOD's event notifications go to the api, signed as VOD signs them.
      EMULATOR_VOD_CALLBACK_URL: `http://127.0.0.1:${ports.api}/v1/vod/events`,
      EMULATOR_VOD_CALLBACK_KEY: secrets.vodCallbackKey,
    });
    // The token service asks STS for credentials as soon as it runs.
    await allReady([{ name: 'emulator', port: ports.emulator }]);
  }
  // The long-term key goes to the token service alone (its only holder).
  const longTermKey: Record<string, string> = useEmulator
    ? { ALIBABA_CLOUD_ACCESS_KEY_ID: secrets.emulatorKeyId, ALIBABA_CLOUD_ACCESS_KEY_SECRET: secrets.emulatorSecret }
    : { ALIBABA_CLOUD_ACCESS_KEY_ID: env.ALIBABA_CLOUD_ACCESS_KEY_ID ?? '', ALIBABA_CLOUD_ACCESS_KEY_SECRET: env.ALIBABA_CLOUD_ACCESS_KEY_SECRET ?? '' };
  const cloud: Record<string, string> = useEmulator
    ? {
        STS_ENDPOINT: emulatorUrl,
        VOD_ENDPOINT: emulatorUrl,
        OSS_ENDPOINT: emulatorUrl,
      }
    : {};

  const inbox = env.INGEST_ROOTS ?? path.join(dataDir, 'inbox');
  if (!env.INGEST_ROOTS) mkdirSync(inbox, { recursive: true });
  const common = {
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    TOKEN_SERVICE_URL: `http://127.0.0.1:${ports.token}`,
    TOKEN_SERVICE_SECRET: env.TOKEN_SERVICE_SECRET ?? secrets.serviceSecret,
    INGEST_ROOTS: inbox,
    SOURCE_HEADERS_KEY: env.SOURCE_HEADERS_KEY ?? secrets.headersKey,
    TENANTS_FILE: tenantsFile(secrets),
    ...cloud,
  };
  const adminToken = env.ADMIN_TOKEN || secrets.adminToken;
  service('token', ports.token, {
    ...common,
    ...longTermKey,
    TOKEN_CACHE_KEY: env.TOKEN_CACHE_KEY ?? secrets.cacheKey,
    ALIBABA_CLOUD_ROLE_ARN: env.ALIBABA_CLOUD_ROLE_ARN ?? 'acs:ram::1000000000000000:role/vod-ingest-worker',
    CLIENT_ROLE_ARN: env.CLIENT_ROLE_ARN ?? 'acs:ram::1000000000000000:role/vod-ingest-client',
  });
  // API_KEYS, when given, sits beside the tenants file (its tenants: VOD, no OSS target).
  service('api', ports.api, {
    ...common,
    ADMIN_TOKEN: adminToken,
    ...(env.API_KEYS ? { API_KEYS: env.API_KEYS } : {}),
    ...(useEmulator ? { VOD_CALLBACK_KEY: secrets.vodCallbackKey } : env.VOD_CALLBACK_KEY ? { VOD_CALLBACK_KEY: env.VOD_CALLBACK_KEY } : {}),
  });
  const workerEnv = { ...common, WEBHOOK_SECRET: env.WEBHOOK_SECRET ?? secrets.webhookSecret };
  service('worker-1', ports.worker, workerEnv);
  service('worker-2', ports.worker + 1, workerEnv);
  await allReady([
    { name: 'token', port: ports.token },
    { name: 'api', port: ports.api },
    { name: 'worker-1', port: ports.worker },
    { name: 'worker-2', port: ports.worker + 1 },
  ]);
  up = true;

  const apiUrl = `http://localhost:${ports.api}`;
  const ownTenants = !env.TENANTS_FILE;
  const key = ownTenants ? secrets.apiKey : '<your key>';
  const clip = path.join(inbox, 'clip.mp4');
  console.log(`
vod-ingest is up (every service answers /readyz).
  API        ${apiUrl}
  API key    ${ownTenants ? `${secrets.apiKey}  (tenant "local": OSS bucket ${LOCAL_BUCKET}, VOD)` : '(from TENANTS_FILE / API_KEYS)'}
  Tenants    ${common.TENANTS_FILE}
  Redis      ${clusterNodes ? `cluster ${clusterNodes}  (REDIS_CLUSTER_NODES)` : `${redisUrl}${ownsRedis ? `  (its own, data in ${path.join(dataDir, 'redis')})` : '  (REDIS_URL)'}`}
  Cloud      ${useEmulator ? `emulator at ${emulatorUrl}, bucket ${LOCAL_BUCKET}` : 'Alibaba Cloud (ALIBABA_CLOUD_ACCESS_KEY_ID is set)'}
  Admin      ${apiUrl}/admin/queues  ${env.ADMIN_TOKEN ? '(ADMIN_TOKEN)' : `(user admin, password ${adminToken}; or Authorization: Bearer)`}

  Inbox      ${inbox}  (file sources must be under INGEST_ROOTS)
  Workers    metrics at http://localhost:${ports.worker}/metrics and :${ports.worker + 1}
  Demo       ${apiUrl}/demo/${ownTenants ? `#key=${secrets.apiKey}` : ''}  (upload from your browser with Alibaba's SDK)

  Try it:
  head -c 20000000 /dev/urandom > ${clip}
  curl -s -X POST ${apiUrl}/v1/jobs -H "Authorization: Bearer ${key}" -H 'Content-Type: application/json' \\
    -d '{"source":{"type":"file","path":"${clip}"},"target":{"type":"vod","title":"My clip"}}'
  curl -s ${apiUrl}/v1/jobs/<id> -H "Authorization: Bearer ${key}"

Ctrl-C stops everything.`);
}

main().catch((err: unknown) => fail((err as Error)?.message ?? String(err)));
