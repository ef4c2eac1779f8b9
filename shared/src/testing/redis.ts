import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';

/** A Redis server for one test file. */
export interface TestRedis {
  readonly url: string;
  /** How it was obtained. */
  readonly kind: 'container' | 'binary' | 'external';
  /** Stops the server (and, with `restart`, starts it again on the same port and data). */
  stop(): Promise<void>;
  /** Kills the server and starts it again on the same port with the same data (AOF). Not for `external`. */
  restart(): Promise<void>;
}

export interface TestRedisOptions {
  /** Turn on AOF persistence (`appendfsync everysec`) so a restart keeps the data. Defaults to false. */
  appendOnly?: boolean;
}

/**
 * A real Redis for tests, in this order: a testcontainers `redis:7` container when a Docker
 * engine answers; else a `redis-server` child on a free port; else `REDIS_URL`. Force one with
 * `TEST_REDIS=container|binary|external`.
 */
export async function startTestRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  const forced = process.env.TEST_REDIS;
  if (forced === 'external') return external();
  if (forced !== 'binary' && (forced === 'container' || (await dockerEngineAnswers()))) {
    return startContainer(options);
  }
  if (forced === 'binary' || hasRedisBinary()) return startBinary(options);
  return external();
}

function external(): TestRedis {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('no Docker engine, no redis-server binary and no REDIS_URL: cannot get a Redis for tests');
  return {
    url,
    kind: 'external',
    stop: async () => {},
    restart: async () => {
      throw new Error('cannot restart an external Redis');
    },
  };
}

function hasRedisBinary(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function dockerEngineAnswers(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([getContainerRuntimeClient(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 3000))]);
    return true;
  } catch {
    return false;
  }
}

async function startContainer(options: TestRedisOptions): Promise<TestRedis> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const args = ['redis-server', '--save', ''];
  if (options.appendOnly) args.push('--appendonly', 'yes', '--appendfsync', 'everysec');
  const container = await new GenericContainer('redis:7-alpine')
    .withCommand(args)
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  const url = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
  return {
    url,
    kind: 'container',
    stop: async () => {
      await container.stop();
    },
    restart: async () => {
      await container.restart();
    },
  };
}

async function startBinary(options: TestRedisOptions): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'vod-ingest-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--protected-mode', 'no'];
  if (options.appendOnly) args.push('--appendonly', 'yes', '--appendfsync', 'everysec');
  let child: ChildProcess;
  const launch = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForPort(port);
  };
  const halt = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await gone;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    kind: 'binary',
    stop: async () => {
      await halt('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await halt('SIGTERM'); // a clean shutdown, as an operator's restart would be
      await launch();
    },
  };
}
