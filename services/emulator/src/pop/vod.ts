import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { CredentialAuthority } from '../credentials.js';
import { CloudError } from '../errors.js';
import type { OssStore } from '../oss/store.js';
import { isoSeconds } from './sts.js';
import type { VideoRecord, VideoStatus, VideoStore } from './video-store.js';

export interface VodOptions {
  authority: CredentialAuthority;
  videos: VideoStore;
  oss: OssStore;
  /** The VOD storage bucket (`outin-…`). */
  bucket: string;
  /** The OSS endpoint written into UploadAddress; when absent, the URL the caller reached us by. */
  publicUrl?: string;
  region: string;
  /** Caps UploadAuth lifetime (EMULATOR_TOKEN_TTL_SECONDS). */
  ttlCapSeconds?: number;
}

/** VOD's UploadAuth lives 3000 s on the cloud. */
const UPLOAD_AUTH_SECONDS = 3000;

function b64json(v: unknown): string {
  return Buffer.from(JSON.stringify(v)).toString('base64');
}

function required(params: Map<string, string>, name: string): string {
  const v = params.get(name);
  if (v === undefined || v === '')
    throw new CloudError(400, 'MissingParameter', `The input parameter "${name}" that is mandatory for processing this request is not supplied.`);
  return v;
}

function invalid(name: string, why: string): CloudError {
  return new CloudError(400, `InvalidParameter.${name}`, `The specified parameter "${name}" is not valid: ${why}.`);
}

function uploadReply(video: VideoRecord, opts: VodOptions, host: string): Record<string, unknown> {
  const ttl = Math.min(UPLOAD_AUTH_SECONDS, opts.ttlCapSeconds ?? UPLOAD_AUTH_SECONDS);
  const cred = opts.authority.issue(ttl, 'acs:ram::0:role/vod-upload', { scope: { bucket: video.bucket, key: video.object } });
  return {
    VideoId: video.videoId,
    UploadAddress: b64json({ Endpoint: opts.publicUrl ?? `http://${host}`, Bucket: video.bucket, FileName: video.object }),
    UploadAuth: b64json({
      SecurityToken: cred.securityToken,
      AccessKeyId: cred.accessKeyId,
      ExpireUTCTime: isoSeconds(cred.expiresAt),
      AccessKeySecret: cred.accessKeySecret,
      Expiration: String(ttl),
      Region: opts.region,
    }),
  };
}

function videoOf(params: Map<string, string>, opts: VodOptions): VideoRecord {
  const videoId = required(params, 'VideoId');
  const video = opts.videos.get(videoId);
  if (!video) throw new CloudError(404, 'InvalidVideo.NotFound', 'The video does not exist.');
  return video;
}

export async function createUploadVideo(params: Map<string, string>, opts: VodOptions, host: string): Promise<Record<string, unknown>> {
  const title = required(params, 'Title');
  if (Buffer.byteLength(title) > 128) throw invalid('Title', 'longer than 128 bytes');
  const fileName = required(params, 'FileName');
  const ext = path.extname(fileName).toLowerCase();
  if (!ext || ext.length < 2) throw invalid('FileName', 'it must have an extension');
  const fileSize = params.get('FileSize');
  if (fileSize !== undefined && !/^\d+$/.test(fileSize)) throw invalid('FileSize', 'not a number of bytes');
  const cateId = params.get('CateId');
  if (cateId !== undefined && !/^-?\d+$/.test(cateId)) throw invalid('CateId', 'not a number');
  const tags = params.get('Tags');
  if (tags !== undefined && (tags.split(',').length > 16 || tags.split(',').some((t) => Buffer.byteLength(t) > 32))) {
    throw invalid('Tags', 'at most 16 tags of at most 32 bytes');
  }
  const description = params.get('Description');
  if (description !== undefined && Buffer.byteLength(description) > 1024) throw invalid('Description', 'longer than 1024 bytes');
  const userData = params.get('UserData');
  if (userData !== undefined) {
    try {
      JSON.parse(userData);
    } catch {
      throw invalid('UserData', 'not JSON');
    }
  }
  const storageLocation = params.get('StorageLocation') ?? `${opts.bucket}.oss-${opts.region}.aliyuncs.com`;
  const stem = `${randomBytes(4).toString('hex')}-${Date.now().toString(16)}${randomBytes(2).toString('hex')}`;
  const video: VideoRecord = {
    videoId: randomBytes(16).toString('hex'),
    title,
    fileName,
    bucket: opts.bucket,
    object: `sv/${stem}/${stem}${ext}`,
    description,
    cateId: cateId === undefined ? undefined : Number(cateId),
    tags,
    fileSize: fileSize === undefined ? undefined : Number(fileSize),
    templateGroupId: params.get('TemplateGroupId'),
    workflowId: params.get('WorkflowId'),
    storageLocation,
    userData,
    creationTime: isoSeconds(Date.now()),
    status: 'Uploading',
  };
  await opts.videos.put(video);
  return uploadReply(video, opts, host);
}

export async function refreshUploadVideo(params: Map<string, string>, opts: VodOptions, host: string): Promise<Record<string, unknown>> {
  return uploadReply(videoOf(params, opts), opts, host);
}

/** The object decides until the video processor has recorded more (records from before it, too). */
function statusOf(video: VideoRecord, size: number | undefined): VideoStatus {
  if (size === undefined) return 'Uploading';
  return !video.status || video.status === 'Uploading' ? 'UploadSucc' : video.status;
}

/**
 * GetVideoInfo: `Uploading` until the object exists in the VOD bucket, then what the video
 * processor recorded (`UploadSucc`, `Transcoding`, `Normal`, `TranscodeFail`).
 */
export async function getVideoInfo(params: Map<string, string>, opts: VodOptions): Promise<Record<string, unknown>> {
  const video = videoOf(params, opts);
  let size: number | undefined;
  try {
    size = (await opts.oss.headObject(video.bucket, video.object)).size;
  } catch {
    size = undefined;
  }
  return {
    Video: {
      VideoId: video.videoId,
      Title: video.title,
      Description: video.description,
      CateId: video.cateId,
      Tags: video.tags,
      Status: statusOf(video, size),
      Size: size ?? 0,
      CreationTime: video.creationTime,
      StorageLocation: video.storageLocation,
      TemplateGroupId: video.templateGroupId,
      RegionId: opts.region,
    },
  };
}
