import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface WorkerMetrics {
  jobs: Counter<'target' | 'outcome'>;
  jobDuration: Histogram<'target' | 'outcome'>;
  uploadedBytes: Counter<'target'>;
  partDuration: Histogram<'target'>;
  partRetries: Counter<'reason'>;
  credentialRefreshes: Counter<'source'>;
}

/** Queue name → (job state → count), read at scrape time (BullMQ `getJobCounts`). */
export type QueueCounts = () => Promise<Record<string, Record<string, number>>>;

/**
 * The worker's series (README: Metrics and the Grafana dashboard). Labels stay bounded: target is `vod|oss`, outcome a
 * terminal status, reason an error code; never a job id.
 */
export function createWorkerMetrics(registry: Registry, queueCounts?: QueueCounts): WorkerMetrics {
  if (queueCounts) {
    new Gauge({
      name: 'queue_jobs',
      help: 'Jobs by queue (ingest, webhooks) and state (waiting, active, delayed, completed, failed, paused, prioritized).',
      labelNames: ['queue', 'state'] as const,
      registers: [registry],
      async collect() {
        const all = await queueCounts().catch(() => ({}) as Record<string, Record<string, number>>);
        for (const [queue, counts] of Object.entries(all)) for (const [state, n] of Object.entries(counts)) this.set({ queue, state }, n);
      },
    });
  }
  return {
    jobs: new Counter({
      name: 'ingest_jobs_total',
      help: 'Ingest jobs ended, by target type and outcome (succeeded, failed, canceled).',
      labelNames: ['target', 'outcome'] as const,
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: 'ingest_job_duration_seconds',
      help: 'Time from a job starting its last attempt to its end, by target type and outcome.',
      labelNames: ['target', 'outcome'] as const,
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    }),
    uploadedBytes: new Counter({
      name: 'ingest_uploaded_bytes_total',
      help: 'Bytes OSS confirmed (parts and single PUTs), by target type.',
      labelNames: ['target'] as const,
      registers: [registry],
    }),
    partDuration: new Histogram({
      name: 'ingest_part_upload_duration_seconds',
      help: 'Duration of one confirmed UploadPart (or single PUT), by target type.',
      labelNames: ['target'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    partRetries: new Counter({
      name: 'ingest_part_retries_total',
      help: 'Part (and initiate/complete) retries by reason (error code).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    credentialRefreshes: new Counter({
      name: 'ingest_credential_refreshes_total',
      help: 'Upload credentials replaced after expiry or rejection, by source (token service, vod RefreshUploadVideo).',
      labelNames: ['source'] as const,
      registers: [registry],
    }),
  };
}

/** An error code as a label value: bounded, or `other`. */
export function reasonLabel(code: string | undefined): string {
  return code && /^[A-Za-z][A-Za-z0-9_.]{0,47}$/.test(code) ? code : 'other';
}
