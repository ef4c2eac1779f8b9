import { z } from 'zod';
import { vodFileName, vodVideoFields } from '@vod-ingest/shared';

/** The body in VOD's PascalCase parameters (one function for this route and the worker's vod jobs). */
export { toCreateUploadVideoParams } from '@vod-ingest/shared';

/**
 * `POST /v1/vod/upload-auth`: VOD `CreateUploadVideo` fields in camelCase — the same fields, with
 * the same limits, as a job's vod target — checked here so that a client learns every problem at
 * once, before VOD is called. `fileName` is required; `fileSize` is the client's to say.
 */
export const uploadAuthBody = vodVideoFields.extend({
  fileName: vodFileName,
  fileSize: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});

export type UploadAuthBody = z.infer<typeof uploadAuthBody>;

/** A VOD VideoId as it appears in a path. */
export const VIDEO_ID = /^[0-9a-zA-Z]{1,64}$/;
