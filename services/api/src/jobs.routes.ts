import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { AppError, JOB_STATUSES, jobView, route, validate, type JobStore, type Logger, type Tenants } from '@vod-ingest/shared';
import { callerOf } from './api-keys.js';
import type { IngestQueue } from './ingest.queue.js';
import { jobEventStream } from './job-events.stream.js';
import type { SourcePolicy } from './job-request.checks.js';
import { idempotencyKeyOf, submitJob } from './job-submission.js';
import { jobNotFound } from './jobs.errors.js';
import { jsonBody } from './json-body.js';
import { redisCall } from './redis-keys.js';
import type { SseHub } from './sse-hub.js';

export interface JobRoutesDeps {
  log: Logger;
  store: JobStore;
  queue: IngestQueue;
  policy: SourcePolicy;
  /** Where each tenant may write. */
  tenants: Tenants;
  hub: SseHub;
  /** SSE_MAX_PER_TENANT. */
  sseMaxPerTenant: number;
  /** Runs before `POST /v1/jobs` (the per-API-key submission limit). */
  submitLimit: RequestHandler;
}

export const listQuery = z.strictObject({
  status: z.enum(JOB_STATUSES).optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, 'an integer from 1 to 100')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 100, 'an integer from 1 to 100')
    .default(20),
  cursor: z
    .string()
    .regex(/^job_[0-9a-z]{1,40}$/, 'a nextCursor from an earlier page')
    .optional(),
});

const noStore: RequestHandler = (_req, res, next) => {
  res.set('cache-control', 'no-store');
  next();
};

/**
 * The jobs API (see /openapi.json): submit, read, list, cancel, and follow a job's events. Use after
 * `requireApiKey`; every route sees only the caller's tenant's jobs (another's is a 404).
 */
export function jobRoutes(deps: JobRoutesDeps): Router {
  const { log, store, queue } = deps;
  const router = Router();

  router.post(
    '/v1/jobs',
    noStore,
    deps.submitLimit,
    route(async (req, res) => {
      const { tenant } = callerOf(res);
      const key = idempotencyKeyOf(req.headers['idempotency-key']);
      const { status, job } = await submitJob(deps, tenant, jsonBody(req), key);
      res.status(status).location(`/v1/jobs/${job.id}`).json(jobView(job));
    }),
  );

  router.get(
    '/v1/jobs',
    noStore,
    route(async (req, res) => {
      const { tenant } = callerOf(res);
      const q = validate(listQuery, req.query, 'Query is invalid');
      const page = await redisCall(store.list(tenant, q), 3000);
      res.json({ jobs: page.jobs.map(jobView), ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) });
    }),
  );

  router.get(
    '/v1/jobs/:id',
    noStore,
    route(async (req, res) => {
      const job = await redisCall(store.getForTenant(callerOf(res).tenant, String(req.params.id)));
      if (!job) throw jobNotFound();
      res.json(jobView(job));
    }),
  );

  router.delete(
    '/v1/jobs/:id',
    noStore,
    route(async (req, res) => {
      const { tenant } = callerOf(res);
      const id = String(req.params.id);
      if (!(await redisCall(store.getForTenant(tenant, id)))) throw jobNotFound();
      const outcome = await redisCall(store.cancel(id));
      if (outcome.state === 'finished') throw new AppError('JOB_FINISHED', `The job has already ${outcome.job?.status ?? 'finished'}`, { status: 409 });
      if (outcome.state === 'canceled') {
        // A worker that took it already sees `canceled` and skips it.
        await queue.remove(id).catch((err: unknown) => log.warn({ jobId: id, err }, 'QueuedJobRemoveFailed'));
      }
      log.info({ tenant, jobId: id, state: outcome.state }, 'JobCancelRequested');
      res.status(outcome.state === 'canceled' ? 200 : 202).json(jobView(outcome.job));
    }),
  );

  router.get('/v1/jobs/:id/events', route(jobEventStream({ log, store, hub: deps.hub, maxPerTenant: deps.sseMaxPerTenant })));

  return router;
}
