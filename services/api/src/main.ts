import { Queue } from 'bullmq';
import {
  CacheCipher,
  createLogger,
  createRedis,
  createRegistry,
  handleShutdown,
  isRetryable,
  JobStore,
  listen,
  loadConfig,
  OpenApiVodClient,
  QUEUES,
  shardPrefixes,
  startOrExit,
  TenantCredentials,
  UploadStore,
  waitForRedis,
} from '@vod-ingest/shared';
import { createApp } from './app.js';
import { apiConfigSchema } from './config.js';
import { BullIngestQueue } from './ingest.queue.js';
import { SseHub } from './sse-hub.js';

const config = loadConfig(apiConfigSchema, 'api');
const log = createLogger('api', { level: config.LOG_LEVEL });

const shards = shardPrefixes(config.KEY_PREFIX, config.REDIS_SHARDS);
const redis = createRedis(config.redis, { blocking: false, name: 'api', log, probeKey: shards });
await startOrExit('api', () => waitForRedis(redis, config.redis));
const retentionSeconds = config.JOB_RETENTION_DAYS * 86_400;
const jobs = new JobStore(redis, { prefix: config.KEY_PREFIX, shards: config.REDIS_SHARDS, streamMaxLen: config.EVENTS_MAXLEN, retentionSeconds });
// The producer shares the fail-fast connection: an add while Redis is away fails (503), never hangs.
const queue = new BullIngestQueue(redis, {
  prefix: config.KEY_PREFIX,
  shards: config.REDIS_SHARDS,
  attempts: config.JOB_ATTEMPTS,
  backoffSeconds: config.JOB_BACKOFF_SECONDS,
  smallJobBytes: config.SMALL_JOB_BYTES,
});
const hub = new SseHub({ connect: () => createRedis(config.redis, { blocking: true, name: 'api-sse' }), streamKeys: jobs.shardKeys.map((k) => k.events), log });
if (config.INGEST_ROOTS.length === 0) log.warn('FileSourcesDisabled');
if (!config.SOURCE_HEADERS_KEY) log.warn('SourceHeadersDisabled');
// The dashboard's own queue handles (both ingest lanes and webhooks of every shard), on the fail-fast connection like the producer's.
const boardQueues = config.ADMIN_TOKEN
  ? shards.flatMap((prefix) => [QUEUES.ingest, QUEUES.ingestSmall, QUEUES.webhooks].map((name) => new Queue(name, { connection: redis, prefix })))
  : [];
// Connection errors are the shared connection's, logged there at a bounded rate; only others here.
for (const q of boardQueues)
  q.on('error', (err) => isRetryable(err) || log.warn({ queue: q.name, code: (err as { code?: string }).code }, 'QueueBoardRedisError'));
if (config.ADMIN_TOKEN) log.info({ writable: config.ADMIN_QUEUES_WRITABLE }, 'QueueBoardEnabled');

const app = createApp({
  log,
  registry: createRegistry('api'),
  redis,
  apiKeys: config.apiKeys,
  tenants: config.tenants,
  credentials: new TenantCredentials({ url: config.TOKEN_SERVICE_URL, secret: config.TOKEN_SERVICE_SECRET, profile: 'client' }),
  vod: new OpenApiVodClient({ endpoint: config.vodEndpoint, region: config.ALIBABA_CLOUD_REGION_ID }),
  rateLimit: { limit: config.API_RATE_LIMIT, windowSeconds: config.API_RATE_WINDOW_SECONDS, prefix: config.KEY_PREFIX },
  jobRateLimit: { limit: config.JOB_RATE_LIMIT, windowSeconds: config.API_RATE_WINDOW_SECONDS, prefix: config.KEY_PREFIX },
  jobs,
  uploads: new UploadStore(redis, { prefix: config.KEY_PREFIX, streamMaxLen: config.EVENTS_MAXLEN, retentionSeconds }),
  vodEvents: { key: config.VOD_CALLBACK_KEY, callbackUrl: config.VOD_CALLBACK_URL },
  oss: { endpoint: config.ossEndpoint, pathStyle: config.OSS_PATH_STYLE || undefined, region: config.ALIBABA_CLOUD_REGION_ID },
  queue,
  sourcePolicy: {
    ingestRoots: config.INGEST_ROOTS,
    allowlist: config.URL_ALLOWLIST,
    headerCipher: config.SOURCE_HEADERS_KEY ? new CacheCipher(config.SOURCE_HEADERS_KEY) : undefined,
  },
  hub,
  sseMaxPerTenant: config.SSE_MAX_PER_TENANT,
  admin: config.ADMIN_TOKEN ? { token: config.ADMIN_TOKEN, queues: boardQueues, writable: config.ADMIN_QUEUES_WRITABLE } : undefined,
});

const { server, port } = await startOrExit('api', () => listen(app, config.port, config.HOST));
log.info({ port }, 'Listening');
// Event streams never end by themselves: end them first, so the server can close.
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => hub.close());
handleShutdown(server, log, async () => {
  await Promise.all([queue, ...boardQueues].map((q) => q.close().catch(() => {})));
  await redis.quit().catch(() => redis.disconnect());
});
