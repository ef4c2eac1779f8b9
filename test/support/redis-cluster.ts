import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { stablePorts, waitForPort, type TestRedis } from '@vod-ingest/shared/testing';

/** One `redis-server` of the cluster. */
export interface ClusterNode {
  readonly port: number;
  /** False once killed. */
  readonly alive: boolean;
}

/** A local Redis Cluster: 3 masters, each with one replica, from the `redis-server` binary. */
export interface TestRedisCluster extends TestRedis {
  /** REDIS_CLUSTER_NODES: every node, `127.0.0.1:port`, comma-separated. */
  readonly clusterNodes: string;
  readonly nodes: readonly ClusterNode[];
  /** The hash slot of `key` (CLUSTER KEYSLOT). */
  slotOf(key: string): Promise<number>;
  /** The port of the master serving `slot` now, as a live node sees it (CLUSTER SHARDS). */
  masterOf(slot: number): Promise<number>;
  /** The ports of the online masters. */
  masters(): Promise<number[]>;
  /** The keys the node on `port` holds in `slot` (CLUSTER COUNTKEYSINSLOT). */
  countKeysInSlot(port: number, slot: number): Promise<number>;
  /** The pid of the `redis-server` of the node on `port` (for /proc CPU readings). */
  pidOf(port: number): number | undefined;
  /** kill -9 of the node on `port`. */
  kill(port: number): Promise<void>;
  /** Resolves once `slot` is served by a live master other than `notPort` and every live node says `cluster_state:ok`. */
  waitForFailover(slot: number, notPort: number, timeoutMs?: number): Promise<number>;
  /**
   * Resolves once a live node says `cluster_state:fail` (after a kill: the slot has no master yet).
   * The state lasts from the node being marked failed to a replica's promotion, half a second or
   * more, so every live node is asked every 20 ms on a connection kept for the wait.
   */
  waitForClusterFail(timeoutMs?: number): Promise<void>;
}

/**
 * `cluster-node-timeout`: a dead master is failed over a few seconds after it stops answering. 2 s
 * puts the failover (about 4 s here) past the services' 2 s readiness budget, so that /readyz
 * reliably says 503 during it: with 1 s, a failover was sometimes over within 1.95 s, and a probe
 * sent at the kill was answered by the new master in time (200, rightly).
 */
const NODE_TIMEOUT_MS = 2000;

/**
 * Starts six `redis-server --cluster-enabled yes` on free ports (and free bus ports), joins them
 * with `redis-cli --cluster create … --cluster-replicas 1` and waits until every node says
 * `cluster_state:ok` and every replica is attached. No persistence: a killed node is gone.
 */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) throw new Error('redis-server is not installed');
  const dir = mkdtempSync(path.join(tmpdir(), 'vod-ingest-cluster-'));
  const procs = new Map<number, ChildProcess>();
  const nodes: Array<{ port: number; alive: boolean }> = [];
  const stop = async () => {
    await Promise.all([...procs.keys()].map((port) => kill(port)));
    rmSync(dir, { recursive: true, force: true });
  };
  const kill = async (port: number) => {
    const child = procs.get(port);
    const node = nodes.find((n) => n.port === port);
    if (node) node.alive = false;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
  };
  try {
    // Twelve distinct ports below the ephemeral range: two `freePort`s could be one port, or be taken
    // as the local end of another test's connection before redis-server binds them (a node then
    // fails to start, the cluster never settles, and the node whose port repeated was never stopped).
    const base = await stablePorts(12);
    for (let i = 0; i < 6; i++) {
      const [port, busPort] = [base + 2 * i, base + 2 * i + 1];
      // biome-ignore format: one flag and its value per line reads best
      const args = [
        '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1', '--protected-mode', 'no',
        '--cluster-enabled', 'yes', '--cluster-node-timeout', String(NODE_TIMEOUT_MS), '--cluster-config-file', `nodes-${port}.conf`,
        '--appendonly', 'no', '--save', '', '--dir', dir, '--loglevel', 'warning',
      ];
      procs.set(port, spawn('redis-server', args, { stdio: 'ignore' }));
      nodes.push({ port, alive: true });
    }
    await Promise.all(nodes.map((n) => waitForPort(n.port)));
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await waitUntil(async () => (await Promise.all(nodes.map((n) => nodeSettled(n.port)))).every(Boolean), 30_000, 'the cluster did not settle');
  } catch (err) {
    await stop();
    throw err;
  }

  const anyLive = <T>(fn: (r: Redis) => Promise<T>) => withNode(nodes.find((n) => n.alive)!.port, fn);
  const cluster: TestRedisCluster = {
    url: `redis://127.0.0.1:${nodes[0].port}`,
    kind: 'binary',
    clusterNodes: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    nodes,
    stop,
    restart: async () => {
      throw new Error('a test cluster is not restarted; kill a node instead');
    },
    slotOf: (key) => anyLive(async (r) => Number(await r.call('CLUSTER', 'KEYSLOT', key))),
    masterOf: (slot) => anyLive((r) => masterPort(r, slot)),
    masters: () =>
      anyLive(async (r) =>
        ((await r.call('CLUSTER', 'SHARDS')) as unknown[])
          .map((shard) => shardNodes(shard).find((n) => n.role === 'master' && n.health === 'online'))
          .filter((n) => n !== undefined)
          .map((n) => Number(n.port)),
      ),
    countKeysInSlot: (port, slot) => withNode(port, async (r) => Number(await r.call('CLUSTER', 'COUNTKEYSINSLOT', slot))),
    pidOf: (port) => procs.get(port)?.pid,
    kill,
    async waitForFailover(slot, notPort, timeoutMs = 30_000) {
      let port = notPort;
      await waitUntil(
        async () => {
          const live = nodes.filter((n) => n.alive);
          port = await withNode(live[0].port, (r) => masterPort(r, slot)).catch(() => notPort);
          if (port === notPort || !live.some((n) => n.port === port)) return false;
          return (await Promise.all(live.map((n) => clusterInfo(n.port).then((i) => i.cluster_state === 'ok')))).every(Boolean);
        },
        timeoutMs,
        `slot ${slot} was not failed over`,
      );
      return port;
    },
    async waitForClusterFail(timeoutMs = 20_000) {
      const live = nodes.filter((n) => n.alive).map((n) => new Redis({ port: n.port, host: '127.0.0.1', maxRetriesPerRequest: 0 }));
      for (const r of live) r.on('error', () => {});
      const failed = async (r: Redis) => parseClusterInfo((await r.call('CLUSTER', 'INFO')) as string).cluster_state === 'fail';
      try {
        await waitUntil(
          async () => (await Promise.all(live.map((r) => failed(r).catch(() => false)))).some(Boolean),
          timeoutMs,
          'no node said cluster_state:fail',
          20,
        );
      } finally {
        for (const r of live) r.disconnect();
      }
    },
  };
  return cluster;
}

/** A node is settled when the cluster is ok from its point of view, and it knows 3 masters each with a replica. */
async function nodeSettled(port: number): Promise<boolean> {
  const info = await clusterInfo(port).catch(() => undefined);
  if (info?.cluster_state !== 'ok' || info.cluster_known_nodes !== '6') return false;
  const shards = await withNode(port, (r) => r.call('CLUSTER', 'SHARDS') as Promise<unknown[]>);
  return shards.length === 3 && shards.every((s) => shardNodes(s).filter((n) => n.health === 'online').length === 2);
}

async function clusterInfo(port: number): Promise<Record<string, string>> {
  return parseClusterInfo(await withNode(port, (r) => r.call('CLUSTER', 'INFO') as Promise<string>));
}

/** CLUSTER INFO's `field:value` lines as an object. */
function parseClusterInfo(text: string): Record<string, string> {
  return Object.fromEntries(text.split(/\r?\n/).map((line) => line.split(':') as [string, string]));
}

/** The port of the online master whose shard holds `slot` (CLUSTER SHARDS: `slots` is a flat list of start, end pairs). */
async function masterPort(r: Redis, slot: number): Promise<number> {
  const shards = (await r.call('CLUSTER', 'SHARDS')) as unknown[];
  for (const shard of shards) {
    const slots = fields(shard).slots as number[];
    const holds = slots.some((start, i) => i % 2 === 0 && slot >= start && slot <= slots[i + 1]);
    const master = shardNodes(shard).find((n) => n.role === 'master' && n.health === 'online');
    if (holds && master) return Number(master.port);
  }
  throw new Error(`no online master serves slot ${slot}`);
}

function shardNodes(shard: unknown): Array<Record<string, unknown>> {
  return (fields(shard).nodes as unknown[]).map(fields);
}

/** A RESP2 map reply (`[key, value, key, value, …]`) as an object. */
function fields(reply: unknown): Record<string, unknown> {
  const list = reply as unknown[];
  return Object.fromEntries(list.flatMap((v, i) => (i % 2 === 0 ? [[String(v), list[i + 1]]] : [])));
}

async function withNode<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

async function waitUntil(cond: () => Promise<boolean>, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  for (const end = Date.now() + timeoutMs; ; await sleep(everyMs)) {
    if (await cond().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`${what} within ${timeoutMs / 1000} s`);
  }
}
