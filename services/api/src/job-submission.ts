import {
  AppError,
  checkJobTarget,
  type CreateOutcome,
  digest,
  UnavailableError,
  ValidationError,
  jobRequestSchema,
  validate,
  type JobRecord,
  type JobStore,
  type Logger,
  type Tenants,
} from '@vod-ingest/shared';
import type { IngestQueue } from './ingest.queue.js';
import { checkJobRequest, type SourcePolicy } from './job-request.checks.js';
import { redisCall } from './redis-keys.js';

export interface JobSubmissionDeps {
  log: Logger;
  store: JobStore;
  queue: IngestQueue;
  policy: SourcePolicy;
  tenants: Tenants;
}

/** The answer to `POST /v1/jobs`: 202 for a new job, 200 for an idempotent replay. */
export interface Submitted {
  status: 200 | 202;
  job: JobRecord;
}

/** Printable ASCII, 1..255 characters, no leading or trailing space. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?$/;

/** The `Idempotency-Key` header, when sent; anything but 1..255 printable characters is a 400. */
export function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header === 'string' && IDEMPOTENCY_KEY.test(header)) return header;
  const message = '1 to 255 printable ASCII characters, sent once';
  throw new ValidationError('Idempotency-Key is invalid', [{ field: 'Idempotency-Key', message }], 'IDEMPOTENCY_KEY_INVALID');
}

/**
 * Validates and checks a job request (its target against the tenant's places, its source), records
 * it and puts it on the ingest queue — without an idempotency key, in one round trip: the record's
 * script and BullMQ's add leave in one write, the record first (`JobStore.create`'s `alongside`).
 * A bad or forbidden request records and enqueues nothing. The same idempotency key with the same
 * body answers the first job (and enqueues it again if still queued: a no-op, unless a crash came
 * between record and enqueue); with another body, 409 `IDEMPOTENCY_KEY_REUSED`.
 */
export async function submitJob(deps: JobSubmissionDeps, tenant: string, body: unknown, idempotencyKey?: string): Promise<Submitted> {
  const parsed = validate(jobRequestSchema, body, 'Job request is invalid');
  // The body's digest matters only with an idempotency key (a replay compares it).
  const text = idempotencyKey ? JSON.stringify(parsed) : '';
  const bodyDigest = idempotencyKey ? (deps.policy.headerCipher?.digest(text) ?? digest(text)) : undefined;
  // A replay answers from the record: the source may have gone since the first request took it.
  const earlier = idempotencyKey ? await redisCall(deps.store.findIdempotent(tenant, idempotencyKey)) : undefined;
  if (earlier) return replay(deps, earlier.job, earlier.bodyDigest === bodyDigest);
  // 403 before the source is looked at: a tenant learns nothing about places it may not write.
  checkJobTarget(deps.tenants.get(tenant), parsed.target);
  const { request, sealedHeaders, sourceBytes } = await checkJobRequest(tenant, parsed, deps.policy);
  let enqueuing: Promise<void> | undefined;
  const alongside = idempotencyKey ? undefined : (jobId: string) => void (enqueuing = deps.queue.enqueue({ jobId, tenant }, sourceBytes, true));
  let outcome: CreateOutcome;
  try {
    outcome = await redisCall(deps.store.create(tenant, request, { idempotencyKey, sealedHeaders, bodyDigest, alongside }));
  } catch (err) {
    enqueuing?.catch(() => {}); // a lane job without its record is left to the worker (it waits for the record, then drops it)
    throw err;
  }
  if (!outcome.created) return replay(deps, outcome.job, outcome.sameBody);
  await enqueued(deps, outcome.job, enqueuing ?? deps.queue.enqueue({ jobId: outcome.job.id, tenant }, sourceBytes, true));
  deps.log.info({ tenant, jobId: outcome.job.id, source: outcome.job.source.type, target: outcome.job.target.type }, 'JobCreated');
  return { status: 202, job: outcome.job };
}

/** The same key again: the same body answers the first job (enqueued again if still queued), another body is a 409. */
async function replay(deps: JobSubmissionDeps, job: JobRecord, sameBody: boolean): Promise<Submitted> {
  if (!sameBody) throw new AppError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with another request body', { status: 409 });
  // A no-op when the job is on a lane; repairs a crash between recording and enqueueing (on the
  // main lane: the source's size is not looked at again).
  if (job.status === 'queued') await enqueue(deps, job);
  return { status: 200, job };
}

/** Enqueues again (a no-op when the job is on a lane already); see `enqueued`. */
const enqueue = (deps: JobSubmissionDeps, job: JobRecord) => enqueued(deps, job, deps.queue.enqueue({ jobId: job.id, tenant: job.tenant }));

/** Waits for the job's enqueue, or marks the job failed and answers 503: a recorded job nobody will run must not look queued. */
async function enqueued(deps: JobSubmissionDeps, job: JobRecord, enqueuing: Promise<void>): Promise<void> {
  try {
    await enqueuing;
  } catch (cause) {
    deps.log.error({ jobId: job.id, err: cause }, 'JobEnqueueFailed');
    const error = { code: 'ENQUEUE_FAILED', message: 'The job could not be put on the ingest queue', retryable: true };
    await deps.store.fail(job.id, error).catch((err: unknown) => deps.log.error({ jobId: job.id, err }, 'JobFailMarkFailed'));
    throw new UnavailableError('The ingest queue is unavailable; try again', { code: 'QUEUE_UNAVAILABLE', retryAfterSeconds: 1, cause });
  }
}
