import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES, type IngestJobData } from '@vod-ingest/shared';

/** What the api does with the ingest queue: put a job on it, take a queued one off. */
export interface IngestQueue {
  /** Adds the BullMQ job whose id is `data.jobId`; a no-op when it exists already. */
  enqueue(data: IngestJobData): Promise<void>;
  /** Removes a job that has not started; errors are the caller's to ignore. */
  remove(jobId: string): Promise<void>;
  close(): Promise<void>;
}

export interface BullIngestQueueOptions {
  /** BullMQ key prefix, the same as the JobStore's (`KEY_PREFIX`). */
  prefix: string;
  /** Tries before the job fails. */
  attempts: number;
  /** First retry delay, doubling after each try. */
  backoffSeconds: number;
}

/**
 * The ingest queue over BullMQ, on a fail-fast connection (`createRedis(url, { blocking: false })`):
 * a producer on the request path must not wait through Redis reconnects. The BullMQ job id is the
 * job's own id, so adding twice adds once.
 */
export class BullIngestQueue implements IngestQueue {
  private readonly queue: Queue<IngestJobData>;

  constructor(
    connection: Redis,
    private readonly options: BullIngestQueueOptions,
  ) {
    this.queue = new Queue<IngestJobData>(QUEUES.ingest, { connection, prefix: options.prefix });
  }

  async enqueue(data: IngestJobData): Promise<void> {
    await this.queue.add(QUEUES.ingest, { jobId: data.jobId, tenant: data.tenant } satisfies IngestJobData, {
      jobId: data.jobId,
      attempts: this.options.attempts,
      backoff: { type: 'exponential', delay: this.options.backoffSeconds * 1000 },
      // The job record is the history; a completed BullMQ job is deleted at once (one DEL instead
      // of keeping it and trimming the completed set on every finish).
      removeOnComplete: true,
      removeOnFail: { age: 7 * 86_400 },
    });
  }

  async remove(jobId: string): Promise<void> {
    await this.queue.remove(jobId);
  }

  /** Closes the queue; the connection it was given stays open (its owner closes it). */
  async close(): Promise<void> {
    await this.queue.close();
  }
}
