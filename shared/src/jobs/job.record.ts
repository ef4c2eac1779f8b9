import type { JobError, JobProgress, JobResult, JobStatus, JobVideo, JobView } from './job.schema.js';
import type { JobRecord, VodPlacement } from './job.store.js';

const json = <T>(s: string | undefined): T | undefined => (s ? (JSON.parse(s) as T) : undefined);

/** A job record from its Redis hash (as the store's scripts write it). */
export function toRecord(h: Record<string, string>): JobRecord {
  const req = JSON.parse(h.request) as Pick<JobView, 'source' | 'target' | 'upload' | 'callbackUrl' | 'metadata'>;
  return {
    id: h.id,
    tenant: h.tenant,
    status: h.status as JobStatus,
    ...req,
    progress: json<JobProgress>(h.progress) ?? { bytesUploaded: 0, bytesTotal: 0, partsUploaded: 0, partsTotal: 0 },
    attempts: Number(h.attempts ?? 0),
    createdAt: h.createdAt,
    startedAt: h.startedAt,
    finishedAt: h.finishedAt,
    cancelRequested: h.cancel === '1' && h.status === 'running' ? true : undefined,
    result: json<JobResult>(h.result),
    error: json<JobError>(h.error),
    video: json<JobVideo>(h.video),
    sealedHeaders: h.sealedHeaders,
    vod: json<VodPlacement>(h.vod),
  };
}

/**
 * The public view of a record: what `GET /v1/jobs/{id}` shows (no tenant, no worker facts). Fields
 * left undefined are dropped when the answer is serialized (`res.json`), so none is copied here.
 */
export function jobView(job: JobRecord): JobView {
  const { tenant: _t, sealedHeaders: _h, vod: _v, ...view } = job;
  if (view.status === 'succeeded' || view.status === 'canceled') delete view.error;
  return view;
}
