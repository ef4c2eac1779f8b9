import type { Queue } from 'bullmq';
import type { Express, RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { createBaseApp, finishApp, type JobStore, type Logger, type TenantCredentials, type Tenants, type UploadStore, type VodApi } from '@vod-ingest/shared';
import { requireAdminToken } from './admin-auth.js';
import { apiKeyOnly, requireApiKey, type ApiKey } from './api-keys.js';
import { clientCors, CLIENT_PATHS } from './cors.js';
import { demoRoutes } from './demo.routes.js';
import { credentialRoutes } from './credentials.routes.js';
import type { IngestQueue } from './ingest.queue.js';
import type { SourcePolicy } from './job-request.checks.js';
import { jobRoutes } from './jobs.routes.js';
import { openApiRoutes } from './openapi/openapi.routes.js';
import { QUEUE_BOARD_PATH, queueBoard } from './queue-board.js';
import { rateLimit, type RateLimitOptions } from './rate-limit.js';
import type { SseHub } from './sse-hub.js';
import { uploadRoutes } from './uploads.routes.js';
import { VideoOwners } from './video-owners.js';
import { vodEventRoutes } from './vod-events.routes.js';

export interface AppDeps {
  log: Logger;
  registry: Registry;
  /** A request-path connection (`createRedis(url, { blocking: false })`). */
  redis: Redis;
  apiKeys: readonly ApiKey[];
  /** What each tenant may reach (TENANTS_FILE and API_KEYS). */
  tenants: Tenants;
  /** STS credentials of the token service's `client` profile, scoped per tenant. */
  credentials: TenantCredentials;
  vod: VodApi;
  /** Per-API-key limit on the credential endpoints. */
  rateLimit: RateLimitOptions;
  /** Per-API-key limit on job submissions. */
  jobRateLimit: RateLimitOptions;
  /** Job records and events, on `redis`. */
  jobs: JobStore;
  /** Direct uploads and their client tokens, on `redis`. */
  uploads: UploadStore;
  /** Where direct uploads to OSS land, to check them (OSS_ENDPOINT, OSS_PATH_STYLE, region). */
  oss: { endpoint: string; pathStyle?: boolean; region: string };
  /** VOD's event notifications at `POST /v1/vod/events` (VOD_CALLBACK_KEY, VOD_CALLBACK_URL). */
  vodEvents: { key?: string; callbackUrl?: string };
  queue: IngestQueue;
  /** Where sources and callbacks may come from and go to. */
  sourcePolicy: SourcePolicy;
  /** Live job events for SSE. */
  hub: SseHub;
  /** Open event streams per tenant (SSE_MAX_PER_TENANT). */
  sseMaxPerTenant: number;
  /** The queue dashboard at `/admin/queues`; without it the path is not mounted (404). */
  admin?: AdminDeps;
}

export interface AdminDeps {
  /** ADMIN_TOKEN: the only credential the dashboard accepts. */
  token: string;
  /** The queues shown. */
  queues: readonly Queue[];
  /** ADMIN_QUEUES_WRITABLE. */
  writable: boolean;
}

/** The public HTTP API: everything under `/v1` needs an API key, `/admin` the admin token. */
export function createApp(deps: AppDeps): Express {
  const app = createBaseApp({
    log: deps.log,
    registry: deps.registry,
    readiness: {
      redis: async () => void (await deps.redis.ping()),
      tokenService: () => deps.credentials.ready(),
    },
  });
  // Every path below the board (UI, static assets, its JSON API) passes the admin check first.
  if (deps.admin) {
    const label: RequestHandler = (_req, res, next) => ((res.locals.metricsRoute = QUEUE_BOARD_PATH), next());
    app.use(QUEUE_BOARD_PATH, label, requireAdminToken(deps.admin.token), queueBoard(deps.admin));
  }
  const cors = clientCors(deps.tenants);
  // Before authentication: preflights carry no credentials, VOD signs its callbacks its own way.
  app.options(CLIENT_PATHS, cors.preflight);
  app.use(demoRoutes());
  app.use(openApiRoutes());
  app.use(vodEventRoutes({ log: deps.log, redis: deps.redis, jobs: deps.jobs, uploads: deps.uploads, ...deps.vodEvents }));
  app.use('/v1', requireApiKey(deps.apiKeys, deps.uploads));
  // A client token opens its upload's client endpoints only.
  app.use('/v1/jobs', apiKeyOnly);
  // The jobs routes first: job submission is the busiest path, and express tries routers in order.
  app.use(
    jobRoutes({
      log: deps.log,
      store: deps.jobs,
      queue: deps.queue,
      policy: deps.sourcePolicy,
      tenants: deps.tenants,
      hub: deps.hub,
      sseMaxPerTenant: deps.sseMaxPerTenant,
      submitLimit: rateLimit(deps.redis, { ...deps.jobRateLimit, scope: 'jobs', limitFor: (t) => deps.tenants.get(t).rateLimits.jobs }, deps.log),
    }),
  );
  const limit = rateLimit(deps.redis, { ...deps.rateLimit, limitFor: (t) => deps.tenants.get(t).rateLimits.credentials }, deps.log);
  app.use(
    uploadRoutes({
      log: deps.log,
      uploads: deps.uploads,
      tenants: deps.tenants,
      policy: deps.sourcePolicy,
      guard: [cors.actual, limit],
      credentials: deps.credentials,
      oss: deps.oss,
    }),
  );
  app.use(
    credentialRoutes({
      log: deps.log,
      credentials: deps.credentials,
      tenants: deps.tenants,
      vod: deps.vod,
      owners: new VideoOwners(deps.redis, deps.jobs.keys.prefix),
      limit,
      cors: cors.actual,
      uploads: deps.uploads,
    }),
  );
  return finishApp(app, deps.log);
}
