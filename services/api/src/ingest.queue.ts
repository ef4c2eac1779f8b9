import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  ingestJobOptions,
  ingestLaneFor,
  INGEST_LANES,
  otherIngestLane,
  ingestLaneQueues,
  shardOfJobId,
  shardPrefixes,
  type IngestJobData,
  type IngestLane,
} from '@vod-ingest/shared';

/** What the api does with the ingest queue: put a job on it, take a queued one off. */
export interface IngestQueue {
  /**
   * Adds the BullMQ job whose id is `data.jobId`, on the small lane when `sourceBytes` is known
   * and small (SMALL_JOB_BYTES), else on the main lane; a no-op when it exists already (on either
   * lane). `created`: the job was recorded by this very request, so it is on no lane yet and the
   * other lane is not looked at (one EXISTS less per job); a replay is not.
   */
  enqueue(data: IngestJobData, sourceBytes?: number, created?: boolean): Promise<void>;
  /** Removes a job that has not started, from either lane; errors are the caller's to ignore. */
  remove(jobId: string): Promise<void>;
  close(): Promise<void>;
}

export interface BullIngestQueueOptions {
  /** BullMQ key prefix, the same as the JobStore's (`KEY_PREFIX`). */
  prefix: string;
  /** REDIS_SHARDS: a job goes on the lanes of the shard its id names (`shardOfJobId`). Defaults to 1. */
  shards?: number;
  /** Tries before the job fails. */
  attempts: number;
  /** First retry delay, doubling after each try. */
  backoffSeconds: number;
  /** SMALL_JOB_BYTES: sources up to this size go to the small lane; unset or 0 puts every job on the main lane. */
  smallJobBytes?: number;
}

/**
 * The ingest queue over BullMQ, on a fail-fast connection (`createRedis(url, { blocking: false })`):
 * a producer on the request path must not wait through Redis reconnects. The BullMQ job id is the
 * job's own id, so adding twice adds once.
 */
export class BullIngestQueue implements IngestQueue {
  /** Each shard's prefix and lanes, shard 0 first. */
  private readonly shards: { prefix: string; lanes: Record<IngestLane, Queue<IngestJobData>> }[];

  constructor(
    private readonly connection: Redis,
    private readonly options: BullIngestQueueOptions,
  ) {
    this.shards = shardPrefixes(options.prefix, options.shards ?? 1).map((prefix) => ({ prefix, lanes: ingestLaneQueues(connection, prefix) }));
  }

  async enqueue(data: IngestJobData, sourceBytes?: number, created = false): Promise<void> {
    const shard = this.shardOf(data.jobId);
    const lane = ingestLaneFor(sourceBytes, this.options.smallJobBytes ?? 0);
    // A replay (no size known) or a source that changed size since must not put the job on the
    // other lane too: BullMQ's job id is unique within one queue only.
    if (!created && (await this.connection.exists(`${shard.prefix}:${otherIngestLane(lane)}:${data.jobId}`)) === 1) return;
    const job = { jobId: data.jobId, tenant: data.tenant } satisfies IngestJobData;
    await shard.lanes[lane].add(lane, job, ingestJobOptions(this.options, data.jobId));
  }

  async remove(jobId: string): Promise<void> {
    const { lanes } = this.shardOf(jobId);
    await Promise.all(INGEST_LANES.map((lane) => lanes[lane].remove(jobId)));
  }

  /** Closes the queues; the connection it was given stays open (its owner closes it). */
  async close(): Promise<void> {
    await Promise.all(this.shards.flatMap(({ lanes }) => INGEST_LANES.map((lane) => lanes[lane].close())));
  }

  private shardOf(jobId: string) {
    return this.shards[shardOfJobId(jobId, this.shards.length)];
  }
}
