import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, UnrecoverableError, type Job, type Processor } from 'bullmq';
import { z } from 'zod';
import {
  checkJobTarget,
  retry,
  validate,
  type RetryOptions,
  type Tenants,
  type IngestJobData,
  type JobError,
  type JobEvent,
  type JobProgress,
  type JobRecord,
  type JobResult,
  type JobStore,
  type Logger,
} from '@vod-ingest/shared';
import type { CheckpointStore } from '../upload/checkpoint.store.js';
import { uploadObject, UploadPausedError } from '../upload/multipart-uploader.js';
import { reasonLabel, type WorkerMetrics } from '../worker.metrics.js';
import { describeJobFailure } from './job-failure.js';
import { openSource, type OpenedSource, type SourceDeps } from './job-source.js';
import { openTarget, type TargetDeps, type UploadTarget } from './upload-target.js';

export interface IngestDeps {
  jobs: JobStore;
  /** Where each tenant may write (TENANTS_FILE): checked again before the first byte. */
  tenants: Tenants;
  checkpoints: CheckpointStore;
  sources: SourceDeps;
  targets: TargetDeps;
  metrics: WorkerMetrics;
  log: Logger;
  /** Upload settings of jobs that do not set them. */
  defaults: { partSize: number; parallel: number; retryCount: number; retryDurationMs: number };
  /** Least time between two `job.progress` events of a job. Defaults to 2 s. */
  progressIntervalMs?: number;
  /** How often a running job looks for a cancel request. Defaults to 500 ms. */
  cancelPollMs?: number;
  /**
   * How long an attempt runs before it writes its start (`running`, `job.started`). One that ends
   * sooner writes its start with its end, in one step: a small job costs one Redis script call
   * less. Defaults to 1 s: long enough that a small job still ends first on a loaded machine,
   * where a process may wait its turn for a core.
   */
  startWriteDelayMs?: number;
  /** Aborted when the worker shuts down: running uploads stop at a part boundary and go back to the queue. */
  shutdown: AbortSignal;
}

const jobDataSchema = z.object({ jobId: z.string().regex(/^job_[0-9a-z]+$/), tenant: z.string().min(1) });

/** The ingest queue's processor: validates the BullMQ job's data and runs the upload it names. */
export function createIngestProcessor(deps: IngestDeps): Processor<IngestJobData> {
  return async (job, token) => {
    let data: IngestJobData;
    try {
      data = validate(jobDataSchema, job.data, 'Ingest job data is invalid');
    } catch (err) {
      throw new UnrecoverableError((err as Error).message);
    }
    // One read: a finished or canceled job is left alone. The start is written later (IngestRun).
    const record = await deps.jobs.get(data.jobId);
    if (!record) return waitForRecord(job, token, data.jobId);
    if (record.status !== 'queued' && record.status !== 'running') return { status: record.status };
    return new IngestRun(deps, job, token, record).execute();
  };
}

/** How long after it was added a lane job may wait for its record. */
const RECORD_WAIT_MS = 60_000;

/**
 * A lane job whose record is not there. The api sends the record and the lane job in one write,
 * the record first, so a worker finds the record — unless Redis lost its script cache (SCRIPT
 * FLUSH) after the api's connection last ran the record's script: the script is then sent again,
 * after the lane job was added. Such a job, if young, goes back to the queue for a second without
 * spending an attempt. One older than a minute never gets a record (its request failed, or the
 * record expired): it is dropped.
 */
async function waitForRecord(job: Job<IngestJobData>, token: string | undefined, jobId: string): Promise<never> {
  if (token && Date.now() - job.timestamp < RECORD_WAIT_MS) {
    await job.moveToDelayed(Date.now() + 1000, token);
    throw new DelayedError();
  }
  throw new UnrecoverableError(`No job record for ${jobId}`);
}

/**
 * One attempt at one job: source → target → resumable upload → terminal state and event.
 *
 * The attempt writes its start (queued → running, `job.started`) `startWriteDelayMs` after it
 * began, or before anything else it writes (progress, a failure, a cancel); an attempt that
 * succeeds sooner writes `job.started` and `job.succeeded` together. While the start is not
 * written the record says `queued` though a worker holds the job: the api's cancel sees the
 * job's BullMQ lock and flags it for this worker instead of canceling it under its feet.
 */
class IngestRun {
  private readonly log: Logger;
  /** The target deps with this attempt's logger. */
  private readonly targetDeps: TargetDeps;
  private readonly stop = new AbortController();
  private readonly startedAt = performance.now();
  private readonly begunAt = new Date();
  /** The start's write, once made. */
  private startWrite?: Promise<void>;
  private startTimer?: NodeJS.Timeout;
  private source?: OpenedSource;
  private target?: UploadTarget;
  private progress: JobProgress = { bytesUploaded: 0, bytesTotal: 0, partsUploaded: 0, partsTotal: 0 };
  private progressWrites: Promise<unknown> = Promise.resolve();
  private lastProgressEvent = Date.now();
  private downloaded?: number;
  private lastDownloadSave = 0;

  constructor(
    private readonly deps: IngestDeps,
    private readonly job: Job<IngestJobData>,
    private readonly token: string | undefined,
    private readonly record: JobRecord,
  ) {
    this.log = deps.log.child({ jobId: record.id, attempt: job.attemptsStarted });
    this.targetDeps = { ...deps.targets, log: this.log };
  }

  async execute(): Promise<JobResult | { status: string }> {
    const unwatch = this.watchForStop();
    // A job found running (an attempt that died) says at once that this one has started.
    if (this.record.status === 'running') void this.writeStart().catch(() => {});
    else
      this.startTimer = setTimeout(
        () => void this.writeStart().catch((err: unknown) => this.log.warn({ err }, 'JobStartNotSaved')),
        this.deps.startWriteDelayMs ?? 1000,
      );
    try {
      return await this.upload();
    } catch (err) {
      return await this.handleFailure(err);
    } finally {
      clearTimeout(this.startTimer);
      unwatch();
      await this.source?.cleanup().catch((err: unknown) => this.log.warn({ err }, 'SourceCleanupFailed'));
    }
  }

  private async upload(): Promise<JobResult> {
    const { record, deps } = this;
    // The tenants file may have changed since the api accepted the job.
    checkJobTarget(deps.tenants.get(record.tenant), record.target);
    this.source = await openSource(deps.sources, record, this.stop.signal, (bytes) => this.onDownload(bytes));
    this.target = await openTarget(this.targetDeps, record, this.source.source.size, this.source.baseName);
    const u = record.upload ?? {};
    const outcome = await uploadObject(
      { store: this.target.store, checkpoints: deps.checkpoints, log: this.log },
      {
        jobId: record.id,
        key: this.target.key,
        source: this.source.source,
        partSize: u.partSize ?? deps.defaults.partSize,
        parallel: u.parallel ?? deps.defaults.parallel,
        retryCount: u.retryCount ?? deps.defaults.retryCount,
        retryDurationMs: u.retryDuration !== undefined ? u.retryDuration * 1000 : deps.defaults.retryDurationMs,
        contentType: this.target.contentType,
        meta: this.target.meta,
        signal: this.stop.signal,
        onProgress: (p) => this.onProgress(p),
        onPartRetry: (reason) => deps.metrics.partRetries.inc({ reason: reasonLabel(reason) }),
      },
    );
    await this.progressWrites;
    const t = this.target;
    const result: JobResult = {
      ...(t.videoId ? { videoId: t.videoId } : {}),
      bucket: t.bucket,
      key: t.key,
      size: outcome.size,
      etag: outcome.etag,
      crc64: outcome.crc64,
    };
    // Only a multipart upload keeps a checkpoint.
    if (outcome.uploadId) await deps.checkpoints.clear(record.id);
    // Nothing written yet: the start goes with the end.
    clearTimeout(this.startTimer);
    const written = this.startWrite;
    const begun = written === undefined ? { attempt: this.job.attemptsStarted, at: this.begunAt } : undefined;
    await written;
    const end = () => deps.jobs.succeed(record.id, result, this.progress, new Date(), begun);
    // The end leaves in one write with BullMQ's completion of the job (sent once this returns),
    // ahead of it: Redis runs them in that order, so the record has ended whenever the queue
    // says the job completed, and the job costs one round trip less.
    const ahead = deps.jobs.writeAhead(end);
    if (ahead === undefined) {
      if (await end()) this.ended('succeeded');
    } else {
      void ahead.then(
        (event) => event && this.ended('succeeded'),
        (err: unknown) => this.endAgain(end, err),
      );
    }
    // A job that ended before its start was written logs one line, this one.
    const kind = begun ? { target: record.target.type, source: record.source.type } : {};
    this.log.info({ ...kind, size: outcome.size, partsSent: outcome.partsSent, videoId: t.videoId }, 'JobSucceeded');
    return result;
  }

  /**
   * The end, sent ahead of BullMQ's completion, was refused (an error reply; a lost connection
   * sends it again by itself) while the completion may have gone through: nothing would run the
   * job again, so the end is written again here, up to 5 times about a second apart (`retry`).
   */
  private endAgain(end: () => Promise<JobEvent | null>, err: unknown): void {
    this.log.warn({ err, tries: 1 }, 'JobEndNotSaved');
    const again: RetryOptions = {
      retries: 4,
      baseMs: 1000,
      maxDelayMs: 1000,
      retryable: () => true,
      onRetry: (e, attempt) => this.log.warn({ err: e, tries: attempt + 1 }, 'JobEndNotSaved'),
    };
    void sleep(1000)
      .then(() => retry(end, again))
      .then(
        (event) => event && this.ended('succeeded'),
        (e: unknown) => this.log.error({ err: e }, 'JobEndLost'),
      );
  }

  /** A url source's download, saved at most twice a second (the spooler reports every chunk). */
  private onDownload(bytes: number): void {
    this.downloaded = bytes;
    if (Date.now() - this.lastDownloadSave < 500) return;
    this.lastDownloadSave = Date.now();
    this.onProgress(this.progress);
  }

  private onProgress(upload: JobProgress): void {
    const p = this.downloaded === undefined ? upload : { ...upload, bytesDownloaded: this.downloaded };
    this.progress = p;
    // The last part's progress is written with the job's end (`succeed`), not on its own.
    if (p.partsTotal > 0 && p.partsUploaded === p.partsTotal) return;
    const emit = Date.now() - this.lastProgressEvent >= (this.deps.progressIntervalMs ?? 2000);
    if (emit) this.lastProgressEvent = Date.now();
    this.progressWrites = this.progressWrites
      .then(() => this.writeStart())
      .then(() => this.deps.jobs.progress(this.record.id, p, emit))
      .catch((err: unknown) => this.log.warn({ err }, 'ProgressNotSaved'));
  }

  /**
   * Writes (and logs) this attempt's start (queued → running, `job.started`) once; what it
   * writes later waits for it. A job that is no longer queued or running (ended meanwhile) stops the attempt.
   */
  private writeStart(): Promise<void> {
    clearTimeout(this.startTimer);
    this.startWrite ??= this.deps.jobs.start(this.record.id, this.job.attemptsStarted, this.begunAt).then((started) => {
      if (started) this.log.info({ target: this.record.target.type, source: this.record.source.type }, 'JobStarted');
      else if (!this.stop.signal.aborted) this.stop.abort('cancel');
    });
    return this.startWrite;
  }

  /**
   * Polls the cancel flag (and follows the worker's shutdown) so the upload stops at a part
   * boundary. Returns what undoes it: the listener on the shared shutdown signal must go with the
   * job, or every job would leave one behind.
   */
  private watchForStop(): () => void {
    const onShutdown = () => this.stop.abort('shutdown');
    if (this.deps.shutdown.aborted) onShutdown();
    this.deps.shutdown.addEventListener('abort', onShutdown, { once: true });
    const timer = setInterval(() => {
      this.deps.jobs.isCancelRequested(this.record.id).then(
        (yes) => yes && !this.stop.signal.aborted && this.stop.abort('cancel'),
        () => {}, // Redis away: the next poll tries again
      );
    }, this.deps.cancelPollMs ?? 500).unref();
    return () => {
      clearInterval(timer);
      this.deps.shutdown.removeEventListener('abort', onShutdown);
    };
  }

  private async handleFailure(err: unknown): Promise<{ status: string }> {
    await this.progressWrites;
    // A failed, canceled or handed-back attempt has started, as its events say.
    await this.writeStart().catch(() => {});
    if (this.stop.signal.reason === 'cancel' || (await this.deps.jobs.isCancelRequested(this.record.id).catch(() => false))) return this.cancel();
    if (this.stop.signal.reason === 'shutdown' && (err instanceof UploadPausedError || this.stop.signal.aborted)) {
      await this.deps.jobs.requeue(this.record.id, {
        code: 'WORKER_SHUTDOWN',
        message: 'The worker stopped; the upload resumes from its checkpoint',
        retryable: true,
      });
      this.log.info('JobHandedBack');
      // Back to the queue without spending an attempt; the checkpoint stays.
      await this.job.moveToDelayed(Date.now(), this.token);
      throw new DelayedError();
    }
    const error = await this.describe(err);
    const last = this.job.attemptsMade + 1 >= (this.job.opts.attempts ?? 1);
    if (!error.retryable || last) {
      this.log.error({ err, code: error.code }, 'JobFailed');
      await this.abortUpload();
      if (await this.deps.jobs.fail(this.record.id, error)) this.ended('failed');
      throw error.retryable ? err : new UnrecoverableError(`${error.code}: ${error.message}`);
    }
    this.log.warn({ err, code: error.code }, 'JobAttemptFailed');
    await this.deps.jobs.requeue(this.record.id, error);
    throw err;
  }

  private async cancel(): Promise<{ status: string }> {
    await this.abortUpload();
    if (await this.deps.jobs.canceled(this.record.id)) this.ended('canceled');
    this.log.info('JobCanceled');
    return { status: 'canceled' };
  }

  /** Aborts the multipart upload (no orphan parts left in OSS) and forgets its checkpoint. */
  private async abortUpload(): Promise<void> {
    const cp = await this.deps.checkpoints.load(this.record.id);
    if (cp) {
      // An attempt that failed before opening its target still aborts the upload an earlier attempt began.
      this.target ??= await openTarget(this.targetDeps, await this.current(), cp.size, cp.key);
      await this.target.store.abort(cp.key, cp.uploadId).catch((err: unknown) => {
        if ((err as { code?: string }).code !== 'NoSuchUpload') throw err;
      });
      this.log.info({ uploadId: cp.uploadId }, 'MultipartUploadAborted');
    }
    await this.deps.checkpoints.clear(this.record.id);
  }

  /** The job record as it is now (a vod placement may have been written since this attempt began). */
  private async current(): Promise<JobRecord> {
    return (await this.deps.jobs.get(this.record.id)) ?? this.record;
  }

  /** The job's error as users see it; a source that changed under us is said so, not retried. */
  private async describe(err: unknown): Promise<JobError> {
    return describeJobFailure(err, !this.source || (await this.source.unchanged()));
  }

  private ended(outcome: 'succeeded' | 'failed' | 'canceled'): void {
    const target = this.record.target.type;
    this.deps.metrics.jobs.inc({ target, outcome });
    this.deps.metrics.jobDuration.observe({ target, outcome }, (performance.now() - this.startedAt) / 1000);
  }
}
