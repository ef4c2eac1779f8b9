import { createLogger, createRedis, handleShutdown, listen, loadConfig, shardPrefixes, startOrExit, waitForRedis } from '@vod-ingest/shared';
import { workerConfigSchema } from './config.js';
import { createWorkerService } from './worker.js';
import { sweepSpool } from './spool-sweep.js';

const config = loadConfig(workerConfigSchema, 'worker');
const log = createLogger('worker', { level: config.LOG_LEVEL });
const connection = createRedis(config.redis, { blocking: true, name: 'worker', log, probeKey: shardPrefixes(config.KEY_PREFIX, config.REDIS_SHARDS) });
await startOrExit('worker', () => waitForRedis(connection, config.redis));
await sweepSpool({ dir: config.SPOOL_DIR, maxAgeMs: config.SPOOL_MAX_AGE_SECONDS * 1000, log }).catch((err) => log.warn({ err }, 'SpoolSweepFailed'));
const service = createWorkerService(config, connection, log);
const { server, port } = await startOrExit('worker', () => listen(service.app, config.port, config.HOST));
log.info({ port, concurrency: config.WORKER_CONCURRENCY, shards: config.REDIS_SHARDS }, 'Listening');

const graceMs = config.SHUTDOWN_GRACE_SECONDS * 1000;
handleShutdown(
  server,
  log,
  async () => {
    await service.close(graceMs);
    await connection.quit().catch(() => connection.disconnect());
  },
  graceMs + 5000,
);
