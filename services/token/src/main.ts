import {
  CacheCipher,
  createLogger,
  createRedis,
  createRegistry,
  handleShutdown,
  listen,
  loadConfig,
  startOrExit,
  Tenants,
  waitForRedis,
} from '@vod-ingest/shared';
import { createApp } from './app.js';
import { tokenConfigSchema } from './config.js';
import { profilesFromConfig, RoleProfiles } from './profiles.js';
import { AlibabaSts } from './sts.client.js';
import { TokenBroker } from './token-broker.js';
import { TokenCache } from './token-cache.js';
import { createTokenMetrics } from './token.metrics.js';

const config = loadConfig(tokenConfigSchema, 'token');
const log = createLogger('token', { level: config.LOG_LEVEL });
const redis = createRedis(config.redis, { blocking: false, name: 'token', log, probeKey: config.TOKEN_KEY_PREFIX });
await startOrExit('token', () => waitForRedis(redis, config.redis));
const registry = createRegistry('token');
const profiles = new RoleProfiles(profilesFromConfig(config), new Tenants(config.TENANTS_FILE));
const cipher = new CacheCipher(config.TOKEN_CACHE_KEY);
if (!cipher.encrypted) log.warn('TokenCacheUnencrypted');

let broker: TokenBroker | undefined;
const metrics = createTokenMetrics(registry, profiles.names(), (p) => broker?.secondsToExpiry(p));
broker = new TokenBroker({
  profiles,
  cache: new TokenCache(redis, cipher, config.TOKEN_KEY_PREFIX, log),
  sts: new AlibabaSts({
    accessKeyId: config.ALIBABA_CLOUD_ACCESS_KEY_ID,
    accessKeySecret: config.ALIBABA_CLOUD_ACCESS_KEY_SECRET,
    region: config.ALIBABA_CLOUD_REGION_ID,
    endpoint: config.stsEndpoint,
  }),
  log,
  metrics,
  timings: { safetyMarginMs: config.TOKEN_SAFETY_MARGIN_SECONDS * 1000, refreshAheadMs: config.TOKEN_REFRESH_AHEAD_SECONDS * 1000 },
});
broker.startBackgroundRefresh(1000);

const app = createApp({ log, registry, redis, broker, serviceSecret: config.TOKEN_SERVICE_SECRET });
const { server, port } = await startOrExit('token', () => listen(app, config.port, config.HOST));
log.info({ port, profiles: profiles.names(), tenants: config.TENANTS_FILE.length, encryptedCache: cipher.encrypted }, 'Listening');

handleShutdown(server, log, async () => {
  await broker?.stop();
  redis.disconnect();
});
