import { createLogger, listen, loadConfig, startOrExit } from '@vod-ingest/shared';
import { createEmulator } from './app.js';
import { emulatorConfigSchema } from './config.js';

const config = loadConfig(emulatorConfigSchema, 'emulator');
const log = createLogger('emulator', { level: config.LOG_LEVEL });

const emulator = await createEmulator({
  accessKeyId: config.EMULATOR_ACCESS_KEY_ID,
  accessKeySecret: config.EMULATOR_ACCESS_KEY_SECRET,
  region: config.EMULATOR_REGION,
  dataDir: config.EMULATOR_DATA_DIR,
  buckets: config.EMULATOR_BUCKETS,
  publicUrl: config.EMULATOR_PUBLIC_URL,
  ttlCapSeconds: config.EMULATOR_TOKEN_TTL_SECONDS,
  maxSessionSeconds: config.EMULATOR_MAX_SESSION_SECONDS,
  admin: config.EMULATOR_ADMIN,
  corsOrigins: config.EMULATOR_CORS_ORIGINS,
  vodCallback: config.EMULATOR_VOD_CALLBACK_URL
    ? {
        url: config.EMULATOR_VOD_CALLBACK_URL,
        privateKey: config.EMULATOR_VOD_CALLBACK_KEY,
        retryMs: config.EMULATOR_VOD_CALLBACK_RETRY_MS,
        timeoutMs: config.EMULATOR_VOD_CALLBACK_TIMEOUT_MS,
      }
    : undefined,
  vodProcessingMs: config.EMULATOR_VOD_PROCESSING_MS,
  log,
});

const { port } = await startOrExit('emulator', () => listen(emulator.server, config.port, config.EMULATOR_HOST));
// The host only: a callback URL may carry credentials or a token in its path or query.
const callback = config.EMULATOR_VOD_CALLBACK_URL;
const notifications = callback ? { vodCallbackHost: new URL(callback).host, vodCallbackSigned: Boolean(config.EMULATOR_VOD_CALLBACK_KEY) } : {};
log.info(
  {
    port,
    admin: config.EMULATOR_ADMIN,
    vodBucket: emulator.vodBucket,
    buckets: config.EMULATOR_BUCKETS,
    corsOrigins: config.EMULATOR_CORS_ORIGINS,
    ...notifications,
  },
  'EmulatorListening',
);

function shutdown(signal: string): void {
  log.info({ signal }, 'EmulatorStopping');
  emulator.stop();
  emulator.server.close(() => process.exit(0));
  emulator.server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
}
process.once('SIGTERM', () => shutdown('SIGTERM'));
process.once('SIGINT', () => shutdown('SIGINT'));
