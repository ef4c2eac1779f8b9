import { z } from 'zod';
import type { CreateUploadVideoParams } from '@vod-ingest/shared';

const maxBytes = (max: number) => [(s: string) => Buffer.byteLength(s, 'utf8') <= max, `at most ${max} bytes (UTF-8)`] as const;
const id = z.string().regex(/^[\w-]{1,64}$/, '1-64 of A-Z a-z 0-9 _ -');
const tag = z
  .string()
  .min(1)
  .refine(...maxBytes(32))
  .refine((s) => !s.includes(','), 'must not contain a comma');

/**
 * `POST /v1/vod/upload-auth`: VOD `CreateUploadVideo` fields in camelCase, with VOD's own limits
 * checked here so that a client learns every problem at once, before VOD is called.
 */
export const uploadAuthBody = z.strictObject({
  title: z.string().trim().min(1, 'must not be empty').refine(...maxBytes(128)),
  fileName: z
    .string()
    .min(1, 'must not be empty')
    .refine(...maxBytes(255))
    .regex(/^[^\x00-\x1f]*\.[A-Za-z0-9]{1,10}$/, 'must end in a file extension such as .mp4'),
  fileSize: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  description: z.string().refine(...maxBytes(1024)).optional(),
  coverUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).refine(...maxBytes(1024)).optional(),
  cateId: z.number().int().positive().optional(),
  tags: z.array(tag).max(16, 'at most 16 tags').optional(),
  templateGroupId: id.optional(),
  workflowId: id.optional(),
  storageLocation: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,127}$/, 'a storage address such as outin-xxx.oss-cn-shanghai.aliyuncs.com').optional(),
  userData: z
    .record(z.string(), z.unknown())
    .refine((v) => Buffer.byteLength(JSON.stringify(v)) <= 1024, 'at most 1024 bytes as JSON')
    .optional(),
});

export type UploadAuthBody = z.infer<typeof uploadAuthBody>;

/** The same request in VOD's PascalCase parameters. */
export function toCreateUploadVideoParams(body: UploadAuthBody): CreateUploadVideoParams {
  return {
    Title: body.title,
    FileName: body.fileName,
    FileSize: body.fileSize,
    Description: body.description,
    CoverURL: body.coverUrl,
    CateId: body.cateId,
    Tags: body.tags?.join(','),
    TemplateGroupId: body.templateGroupId,
    WorkflowId: body.workflowId,
    StorageLocation: body.storageLocation,
    UserData: body.userData === undefined ? undefined : JSON.stringify(body.userData),
  };
}

/** A VOD VideoId as it appears in a path. */
export const VIDEO_ID = /^[0-9a-zA-Z]{1,64}$/;
