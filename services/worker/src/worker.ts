import { Queue, QueueEvents, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES, type IngestJobData, type JobStore, type Logger } from '@vod-ingest/shared';
import { createIngestProcessor, type IngestDeps } from './ingest/upload.processor.js';

export interface WorkerDeps {
  /** A blocking connection (`createRedis(url, { blocking: true })`); BullMQ duplicates it as needed. */
  connection: Redis;
  prefix: string;
  jobs: JobStore;
  ingest: Omit<IngestDeps, 'shutdown' | 'jobs'>;
  /** Ingest jobs run at once by this process. */
  concurrency: number;
  /** Lock lifetime (ms); a crashed worker's job is taken over after about this long. */
  lockDurationMs: number;
  log: Logger;
}

export interface IngestWorker {
  worker: Worker<IngestJobData>;
  queue: Queue<IngestJobData>;
  /** Stops taking jobs; running uploads stop at a part boundary and go back to the queue. */
  close(graceMs: number): Promise<void>;
}

/** The ingest queue's BullMQ worker, wired to the upload processor. */
export function createWorker(deps: WorkerDeps): IngestWorker {
  const shutdown = new AbortController();
  const processor = createIngestProcessor({ ...deps.ingest, jobs: deps.jobs, shutdown: shutdown.signal });
  const worker = new Worker<IngestJobData>(QUEUES.ingest, processor, {
    connection: deps.connection,
    prefix: deps.prefix,
    concurrency: deps.concurrency,
    lockDuration: deps.lockDurationMs,
    stalledInterval: Math.max(1000, Math.floor(deps.lockDurationMs / 2)),
    maxStalledCount: 3,
  });
  const queue = new Queue<IngestJobData>(QUEUES.ingest, { connection: deps.connection, prefix: deps.prefix });
  worker.on('error', (err) => deps.log.warn({ err }, 'WorkerError'));
  // Jobs failed by BullMQ itself (stalled too often) are announced on the queue's event stream only.
  // QueueEvents duplicates the connection it is given (a blocking reader) and closes that copy itself.
  const events = new QueueEvents(QUEUES.ingest, { connection: deps.connection, prefix: deps.prefix });
  events.on('failed', ({ jobId, failedReason }) => void markFailedOutsideProcessor(deps, queue, jobId, failedReason));
  return {
    worker,
    queue,
    async close(graceMs) {
      shutdown.abort();
      const graceOver = new Promise<'late'>((r) => setTimeout(() => r('late'), graceMs).unref());
      if ((await Promise.race([worker.close(), graceOver])) === 'late') deps.log.warn({ graceMs }, 'ShutdownGraceExceeded');
      await Promise.all([queue.close(), events.close()]);
    },
  };
}

/**
 * A job BullMQ failed without its processor saying so (it stalled more often than allowed, for
 * example after repeated crashes): its record is failed too, once (the store's transition guards).
 */
async function markFailedOutsideProcessor(deps: WorkerDeps, queue: Queue<IngestJobData>, bullJobId: string, reason: string): Promise<void> {
  try {
    const job = await queue.getJob(bullJobId);
    if (!job?.data?.jobId || (await job.getState()) !== 'failed') return;
    const event = await deps.jobs.fail(job.data.jobId, { code: 'JOB_STALLED', message: reason, retryable: false });
    if (event) deps.log.error({ jobId: job.data.jobId, reason }, 'JobFailedByQueue');
  } catch (err) {
    deps.log.warn({ jobId: bullJobId, err }, 'JobFailureNotRecorded');
  }
}
