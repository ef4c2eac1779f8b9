export const JOB_EVENT_TYPES = ['job.queued', 'job.started', 'job.progress', 'job.succeeded', 'job.failed', 'job.canceled'] as const;
/** Events of direct uploads (`upload.*`) and of the VOD videos of uploads and vod jobs (`video.*`). */
export const UPLOAD_EVENT_TYPES = ['upload.completed', 'upload.failed', 'video.ready', 'video.failed'] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number] | (typeof UPLOAD_EVENT_TYPES)[number];
export const TERMINAL_EVENT_TYPES: readonly JobEventType[] = ['job.succeeded', 'job.failed', 'job.canceled'];

/**
 * The event envelope, the same on the stream, over SSE and in webhooks.
 * `id` is `evt_<subject>_<seq>`: unique, stable across redeliveries (the webhook-id), and `seq`
 * orders one subject's events (1, 2, 3, ...). The subject is a job (`jobId`) or a direct upload
 * (`uploadId`); exactly one of the two is present.
 */
export interface JobEvent<D = Record<string, unknown>> {
  id: string;
  type: JobEventType;
  createdAt: string;
  jobId?: string;
  uploadId?: string;
  tenant: string;
  data: D;
}

/** The job or upload an event belongs to. */
export const eventSubject = (e: Pick<JobEvent, 'jobId' | 'uploadId'>): string => (e.jobId ?? e.uploadId)!;

/** The position of an event among its job's events, from its id. */
export function eventSeq(event: Pick<JobEvent, 'id'>): number {
  return Number(event.id.slice(event.id.lastIndexOf('_') + 1));
}

export const isTerminalEvent = (e: Pick<JobEvent, 'type'>) => TERMINAL_EVENT_TYPES.includes(e.type);
