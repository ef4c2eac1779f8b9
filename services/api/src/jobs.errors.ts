import { NotFoundError } from '@vod-ingest/shared';

/** 404 `JOB_NOT_FOUND`: no such job, or another tenant's (the two look the same). */
export const jobNotFound = () => new NotFoundError('No such job', 'JOB_NOT_FOUND');
