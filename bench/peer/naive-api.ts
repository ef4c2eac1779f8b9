/**
 * The naive peer's api, as a team writes it in an afternoon: express, one `POST /jobs` that
 * checks an API key header and a JSON body (source file path, target bucket and key), then
 * `queue.add` with everyday options — no idempotency, no job record, no tenant checks, no events.
 * Run by bench/jobs.bench.ts as a child process with an IPC channel; it reports `{ port }` once
 * listening. Env: REDIS_URL, PEER_PREFIX (BullMQ prefix), PEER_API_KEY.
 */
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import express from 'express';
import { Redis } from 'ioredis';

const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const queue = new Queue('ingest', { connection, prefix: process.env.PEER_PREFIX ?? '{naive}' });
const apiKey = process.env.PEER_API_KEY ?? '';

const app = express();
app.use(express.json());
app.post('/jobs', async (req, res) => {
  if (req.get('x-api-key') !== apiKey) {
    res.status(401).json({ error: 'unauthorized' });
    return;
  }
  const { source, target } = req.body ?? {};
  if (typeof source?.path !== 'string' || typeof target?.bucket !== 'string' || typeof target?.key !== 'string') {
    res.status(400).json({ error: 'source.path, target.bucket and target.key are required' });
    return;
  }
  const job = await queue.add(
    'ingest',
    { path: source.path, bucket: target.bucket, key: target.key },
    { attempts: 3, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  );
  res.status(202).json({ id: job.id });
});

const server = app.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
process.once('SIGTERM', () => {
  server.close();
  void queue.close().finally(() => {
    connection.disconnect();
    process.exit(0);
  });
});
