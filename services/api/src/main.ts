import {
  createLogger,
  createRedis,
  createRegistry,
  handleShutdown,
  listen,
  loadConfig,
  OpenApiVodClient,
  TokenServiceCredentials,
} from '@vod-ingest/shared';
import { createApp } from './app.js';
import { apiConfigSchema } from './config.js';

const config = loadConfig(apiConfigSchema, 'api');
const log = createLogger('api', { level: config.LOG_LEVEL });

const redis = createRedis(config.REDIS_URL, { blocking: false, name: 'api' });
redis.on('error', (err) => log.warn({ code: (err as { code?: string }).code }, 'RedisError'));
const app = createApp({
  log,
  registry: createRegistry('api'),
  redis,
  apiKeys: config.API_KEYS,
  credentials: new TokenServiceCredentials({ url: config.TOKEN_SERVICE_URL, secret: config.TOKEN_SERVICE_SECRET, profile: 'client' }),
  vod: new OpenApiVodClient({ endpoint: config.vodEndpoint, region: config.ALIBABA_CLOUD_REGION_ID }),
  rateLimit: { limit: config.API_RATE_LIMIT, windowSeconds: config.API_RATE_WINDOW_SECONDS },
});

const { server, port } = await listen(app, config.port, config.HOST);
log.info({ port }, 'Listening');
handleShutdown(server, log, async () => {
  await redis.quit().catch(() => redis.disconnect());
});
