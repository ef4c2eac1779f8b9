import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Express } from 'express';

/** Where the queue dashboard is served. */
export const QUEUE_BOARD_PATH = '/admin/queues';

export interface QueueBoardOptions {
  /** The queues shown (BullMQ `Queue`s on the api's prefix, then on other shards' prefixes). */
  queues: readonly Queue[];
  /** Lets the dashboard retry, clean, pause, add and remove jobs. Read-only when false. */
  writable: boolean;
}

/**
 * bull-board's dashboard (UI, static assets, JSON API) as an express sub-app to mount at
 * `QUEUE_BOARD_PATH` behind the admin check. In read-only mode bull-board answers 405 to every
 * per-queue change and skips the queues in "pause/resume all".
 */
export function queueBoard(options: QueueBoardOptions): Express {
  const server = new ExpressAdapter().setBasePath(QUEUE_BOARD_PATH);
  createBullBoard({
    // Queues of shard 0 keep their names; another shard's are named `<its prefix>:<name>`.
    queues: options.queues.map(
      (q) => new BullMQAdapter(q, { readOnlyMode: !options.writable, prefix: q.opts.prefix === options.queues[0].opts.prefix ? '' : `${q.opts.prefix}:` }),
    ),
    serverAdapter: server,
    options: { uiConfig: { boardTitle: 'vod-ingest queues' } },
  });
  const app = server.getRouter() as Express;
  app.disable('x-powered-by');
  return app;
}
