import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { AppError } from './errors.js';
import { safeUrl, type Logger } from './logger.js';

/** A `host:port` address. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Where Redis is, as the services' environment says (`redisEnv` in config.ts parses it):
 * one node (or a proxy in front of a cluster) at `url`, or a Redis Cluster reached through
 * `clusterNodes`, which wins when set.
 */
export interface RedisTarget {
  /** REDIS_URL: `redis://[[user]:password@]host:port[/db]`, `rediss://` for TLS. */
  url: string;
  /** REDIS_CLUSTER_NODES: seed nodes of a Redis Cluster (any few of its nodes; the rest are discovered). */
  clusterNodes?: HostPort[];
  /** REDIS_USERNAME (an ACL user); a username in `url` wins. */
  username?: string;
  /** REDIS_PASSWORD; a password in `url` wins. */
  password?: string;
  /** REDIS_TLS: TLS to every node (a `rediss://` url turns it on too). */
  tls?: boolean;
  /** REDIS_NAT_MAP: the address a cluster node announces → the address this process reaches it at. */
  natMap?: Record<string, HostPort>;
}

/** Options for `createRedis`. */
export interface CreateRedisOptions {
  /**
   * For BullMQ workers and blocking commands: never fail a command because Redis is briefly
   * away (`maxRetriesPerRequest: null`), so a Redis restart pauses work instead of failing it.
   * Defaults to true. Set false for request-path clients that must fail fast: they also get a
   * 2 s per-command timeout instead of waiting through reconnects.
   */
  blocking?: boolean;
  /** Connection name shown by `CLIENT LIST`. */
  name?: string;
  /**
   * Where connection errors go, as `RedisError` with `code`, at most one line per
   * `errorLogIntervalMs` (the errors in between are counted in the next line's `suppressed`).
   * Without it they are dropped — never left to ioredis's "Unhandled error event".
   */
  log?: Logger;
  /** Least time between two `RedisError` lines. Defaults to 30 s. */
  errorLogIntervalMs?: number;
  /**
   * The service's key prefix (its `{hash tag}`). In a cluster, `ping()` of the returned client
   * then runs `EXISTS <probeKey>:readyz` through the cluster's slot routing instead of a PING to
   * whichever master ioredis picks, so a `/readyz` calling `redis.ping()` fails while the slot
   * the service works on has no master (a timeout, `CLUSTERDOWN`, a dead node) and passes again
   * once a replica is promoted. Ignored for one node, where PING reaches the node of every key.
   * Several prefixes (REDIS_SHARDS): one EXISTS in each of their slots.
   */
  probeKey?: string | readonly string[];
}

/**
 * Blocking clients ride out a master failover: a command failing on a closed connection or with
 * `CLUSTERDOWN` is tried again, after a slot refresh, up to this many times (×200–300 ms: 20–30 s,
 * past a failover under Redis's default `cluster-node-timeout` of 15 s). Request-path clients
 * keep ioredis's 16 (≈ 4 s), beyond which their callers have answered 503 anyway.
 */
const BLOCKING_MAX_REDIRECTIONS = 100;

/**
 * A Redis connection with the options BullMQ requires and reconnects that back off up to 2 s:
 * an ioredis `Redis` for a URL target, an ioredis `Cluster` for a target with `clusterNodes`.
 * `url` forms: `redis://[:password@]host:port[/db]`, `rediss://` for TLS.
 *
 * A Cluster is returned typed as `Redis`, so that every store and queue takes one type: it has
 * the same command surface (BullMQ, the stores' `eval`, `multi` and pipelines on one hash tag
 * work on both), and nothing here uses what only a single node has (`SELECT`, `KEYS`, `SCAN`).
 */
export function createRedis(target: string | RedisTarget, options: CreateRedisOptions = {}): Redis {
  const t = typeof target === 'string' ? { url: target } : target;
  const blocking = options.blocking ?? true;
  const redisOptions: RedisOptions = {
    connectionName: options.name,
    maxRetriesPerRequest: blocking ? null : 2,
    commandTimeout: blocking ? undefined : 2000,
    enableReadyCheck: true,
    enableOfflineQueue: true,
    ...(t.username ? { username: t.username } : {}),
    ...(t.password ? { password: t.password } : {}),
    ...(t.tls ? { tls: {} } : {}),
  };
  const log = boundedErrorLog(options.log, options.name, options.errorLogIntervalMs ?? 30_000);
  if (t.clusterNodes?.length) {
    const cluster = new Cluster(t.clusterNodes, clusterOptions(t, redisOptions, blocking));
    cluster.on('error', log);
    // A node's own errors (refused, reset, timed out) come here, not to 'error'; the cluster retries past them.
    cluster.on('node error', log);
    if (options.probeKey)
      probeSlotOnPing(
        cluster,
        (typeof options.probeKey === 'string' ? [options.probeKey] : options.probeKey).map((p) => `${p}:readyz`),
      );
    // The one cast: a Cluster is used wherever a Redis is (see above).
    return cluster as unknown as Redis;
  }
  const redis = new Redis(t.url, {
    ...redisOptions,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
  });
  redis.on('error', log);
  return redis;
}

function clusterOptions(t: RedisTarget, redisOptions: RedisOptions, blocking: boolean): ClusterOptions {
  return {
    redisOptions,
    enableOfflineQueue: true,
    // No cluster-level ready check (CLUSTER INFO must say `cluster_state:ok`): a (re)connect made
    // while a master is failed over fails that check, and ioredis then reconnects without ever
    // settling the promise `connect()` returned. BullMQ's worker awaits that promise when its
    // blocking read outlives its watchdog, so one failover could stop a queue's worker for good.
    // Without the check the client is ready once it knows the slots; a command on a slot being
    // failed over meets CLUSTERDOWN and is tried again (`retryDelayOnClusterDown`), as before.
    enableReadyCheck: false,
    // Reads go to masters: a replica may not have the write a job's next step reads back.
    scaleReads: 'master',
    // All seeds gone: try again, backing off up to 2 s, forever (as a single node's reconnects do).
    clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 100,
    // A MOVED is followed at once (and the slot table refreshed), as after a failover or resharding.
    retryDelayOnMoved: 0,
    maxRedirections: blocking ? BLOCKING_MAX_REDIRECTIONS : 16,
    slotsRefreshTimeout: 2000,
    // TLS to managed services: keep the host name the node announces, so it matches the certificate.
    ...(t.tls ? { dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address) } : {}),
    ...(t.natMap && Object.keys(t.natMap).length ? { natMap: t.natMap } : {}),
  };
}

/** See `CreateRedisOptions.probeKey`. */
function probeSlotOnPing(cluster: Cluster, keys: string[]): void {
  Object.defineProperty(cluster, 'ping', {
    value: async () => {
      await Promise.all(keys.map((key) => cluster.exists(key)));
      return 'PONG';
    },
  });
}

/** An error listener that logs the first error at once, then at most one line per `intervalMs`. */
function boundedErrorLog(log: Logger | undefined, name: string | undefined, intervalMs: number): (err: Error, node?: string) => void {
  let last = 0;
  let suppressed = 0;
  return (err, node) => {
    if (!log) return;
    if (Date.now() - last < intervalMs) {
      suppressed++;
      return;
    }
    last = Date.now();
    log.warn({ connection: name, code: errorCode(err), ...(typeof node === 'string' ? { node } : {}), suppressed }, 'RedisError');
    suppressed = 0;
  };
}

const errorCode = (err: Error) => (err as { code?: string }).code ?? err.message.split(/\s/)[0];

/** The target for messages: the URL without credentials, or `cluster host:port,…`. */
export function describeRedis(target: string | RedisTarget): string {
  const t = typeof target === 'string' ? { url: target } : target;
  if (t.clusterNodes?.length) return `cluster ${t.clusterNodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  return safeUrl(t.url);
}

/**
 * A single-node client pointed at a node of a Redis Cluster would get `MOVED` for most keys,
 * forever: refused at start-up instead, saying what to set. A proxy in front of a cluster says
 * `cluster_enabled:0` and passes; so does a node that does not let us run INFO.
 */
async function refuseClusterNode(redis: Redis, target: string | RedisTarget): Promise<void> {
  if (redis.isCluster) return;
  const info = await redis.info('cluster').catch(() => '');
  if (!/^cluster_enabled:1\b/m.test(info)) return;
  const what = `Redis at ${describeRedis(target)} is a Redis Cluster node: set REDIS_CLUSTER_NODES to its nodes (host:port,…) instead of REDIS_URL`;
  throw new AppError('REDIS_IS_CLUSTER', what, { status: 503 });
}

/**
 * For start-up: resolves once `redis` is ready, or rejects after `timeoutMs` (default 5 s) with
 * `REDIS_UNREACHABLE` and a one-line message naming the target (without credentials) and the last
 * connection error, e.g. `cannot reach Redis at redis://127.0.0.1:6390: ECONNREFUSED`. A single node
 * that turns out to be a cluster node rejects with `REDIS_IS_CLUSTER`.
 */
export function waitForRedis(redis: Redis, target: string | RedisTarget, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return refuseClusterNode(redis, target);
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (err: Error) => (lastError = err);
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      redis.off('error', onError);
      redis.off('node error', onError);
    };
    // Still under the timer: INFO on a node that went away again waits for it.
    const onReady = () =>
      void refuseClusterNode(redis, target).then(
        () => (done(), resolve()),
        (err: unknown) => (done(), reject(err)),
      );
    const timer = setTimeout(() => {
      done();
      const why = lastError ? errorCode(lastError) : `no answer within ${timeoutMs / 1000} s`;
      reject(new AppError('REDIS_UNREACHABLE', `cannot reach Redis at ${describeRedis(target)}: ${why}`, { status: 503, retryable: true, cause: lastError }));
    }, timeoutMs);
    redis.on('ready', onReady);
    redis.on('error', onError);
    redis.on('node error', onError);
  });
}

/**
 * Runs `send` with the connection's socket corked until the event loop's next turn: the commands
 * it sends, and those its promise continuations send meanwhile, leave in one write(2) and reach
 * Redis together, in the order sent. Each round trip saved is a write and a read on both sides
 * and a wake-up of Redis. A Cluster (no one socket) or a connection that is not up sends as usual.
 */
export function inOneWrite<T>(redis: Redis, send: () => T): T {
  const socket = redis.status === 'ready' ? redis.stream : undefined;
  if (!socket) return send();
  socket.cork();
  try {
    return send();
  } finally {
    setImmediate(() => socket.uncork());
  }
}
