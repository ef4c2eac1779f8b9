import { z } from 'zod';
import type { CreateUploadVideoParams } from '../alibaba/vod.client.js';
import { jsonValueProblem, maxBytes, plainText, utf8Length } from './text-rules.js';

/**
 * File name extensions VOD takes for audio and video (its "supported formats" list, plus MXF and
 * M2TS), lower case. VOD matches them case-insensitively and refuses a `FileName` without one.
 */
export const VOD_MEDIA_EXTENSIONS: readonly string[] = [
  // video
  '3gp',
  'asf',
  'avi',
  'dat',
  'dv',
  'f4v',
  'flv',
  'gif',
  'm2t',
  'm2ts',
  'm3u8',
  'm4v',
  'mj2',
  'mjpeg',
  'mkv',
  'mov',
  'mp4',
  'mpe',
  'mpeg',
  'mpg',
  'mts',
  'mxf',
  'ogg',
  'qt',
  'rm',
  'rmvb',
  'swf',
  'ts',
  'vob',
  'webm',
  'wmv',
  // audio
  'aac',
  'ac3',
  'acm',
  'amr',
  'ape',
  'caf',
  'flac',
  'm4a',
  'mp3',
  'ra',
  'wav',
  'wma',
];
const MEDIA_EXTENSIONS = new Set(VOD_MEDIA_EXTENSIONS);

/** True when `name` ends in `.<ext>` (after at least one character) with an extension VOD takes. */
export function hasVodMediaExtension(name: string): boolean {
  const m = /^.+\.([^.]+)$/s.exec(name);
  return m !== null && MEDIA_EXTENSIONS.has(m[1].toLowerCase());
}

/** TemplateGroupId, WorkflowId, AppId (`app-1000000`): VOD's ids are letters, digits, `_` and `-`. */
const vodId = () => z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, '1-64 of A-Z a-z 0-9 _ -');

/** Lower-case DNS labels joined by dots, as VOD's storage addresses (`outin-xxx.oss-cn-shanghai.aliyuncs.com`). */
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

const MEDIA_EXTENSION_MESSAGE = `must end in an audio or video extension VOD takes (${VOD_MEDIA_EXTENSIONS.map((e) => `.${e}`).join(' ')})`;

/** VOD's `FileName`: 1..255 bytes, no slash or backslash, ending in a media extension. */
export const vodFileName = plainText()
  .min(1, 'must not be empty')
  .refine(...maxBytes(255))
  .refine((s) => !/[\\/]/.test(s), 'a file name, without / or \\')
  .refine(hasVodMediaExtension, MEDIA_EXTENSION_MESSAGE);

/** The problem VOD would have with `name` as a `FileName`, or undefined when it would take it. */
export function vodFileNameProblem(name: string): string | undefined {
  const r = vodFileName.safeParse(name);
  return r.success ? undefined : r.error.issues[0].message;
}

const vodTag = plainText()
  .min(1, 'must not be empty')
  .refine(...maxBytes(32))
  .refine((s) => !s.includes(','), 'must not contain a comma');

/** `UserData`: a JSON object of at most 1,024 bytes; its keys and strings well-formed, without control characters. */
const vodUserData = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  const problem = jsonValueProblem(value, { maxDepth: 32 });
  if (problem) return void ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path });
  if (utf8Length(JSON.stringify(value)) > 1024) ctx.addIssue({ code: 'custom', message: 'at most 1024 bytes as JSON' });
});

/**
 * The fields of VOD `CreateUploadVideo` a caller may set, in camelCase, with VOD's own limits —
 * the one definition behind a job's `vod` target and `POST /v1/vod/upload-auth`. Every string is
 * well-formed Unicode without control characters. `fileName` is optional here (a job defaults it
 * to its source's name); upload-auth requires it.
 */
export const vodVideoFields = z.strictObject({
  /** 1..128 bytes (UTF-8), trimmed. */
  title: plainText()
    .trim()
    .min(1, 'must not be empty')
    .refine(...maxBytes(128)),
  fileName: vodFileName.optional(),
  /** A positive integer. */
  cateId: z.number().int().positive().optional(),
  /** At most 16 tags of 1..32 bytes, no commas (VOD takes them comma-separated). */
  tags: z.array(vodTag).max(16, 'at most 16 tags').optional(),
  /** At most 1,024 bytes (UTF-8). */
  description: plainText()
    .refine(...maxBytes(1024))
    .optional(),
  /** An http(s) URL of at most 1,024 bytes. */
  coverUrl: plainText()
    .refine(...maxBytes(1024))
    .refine(isHttpUrl, 'must be an http(s) URL')
    .optional(),
  templateGroupId: vodId().optional(),
  workflowId: vodId().optional(),
  /** A storage address: a lower-case host name such as `outin-xxx.oss-cn-shanghai.aliyuncs.com`. */
  storageLocation: z.string().regex(HOST_NAME, 'a storage address such as outin-xxx.oss-cn-shanghai.aliyuncs.com').optional(),
  appId: vodId().optional(),
  userData: vodUserData.optional(),
});

export type VodVideoFields = z.infer<typeof vodVideoFields>;

/**
 * `fields` as VOD's PascalCase `CreateUploadVideo` parameters, with the file name and size of the
 * upload; unset fields are left out. Used by the api (upload-auth) and the worker (vod jobs) alike.
 */
export function toCreateUploadVideoParams(fields: VodVideoFields & { fileName: string; fileSize?: number }): CreateUploadVideoParams {
  const p: CreateUploadVideoParams = { Title: fields.title, FileName: fields.fileName };
  if (fields.fileSize !== undefined) p.FileSize = fields.fileSize;
  if (fields.description !== undefined) p.Description = fields.description;
  if (fields.coverUrl !== undefined) p.CoverURL = fields.coverUrl;
  if (fields.cateId !== undefined) p.CateId = fields.cateId;
  if (fields.tags?.length) p.Tags = fields.tags.join(',');
  if (fields.templateGroupId !== undefined) p.TemplateGroupId = fields.templateGroupId;
  if (fields.workflowId !== undefined) p.WorkflowId = fields.workflowId;
  if (fields.storageLocation !== undefined) p.StorageLocation = fields.storageLocation;
  if (fields.appId !== undefined) p.AppId = fields.appId;
  if (fields.userData !== undefined) p.UserData = JSON.stringify(fields.userData);
  return p;
}
