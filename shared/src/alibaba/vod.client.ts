import { AppError } from '../errors.js';
import type { Credential } from './credential.js';
import { callPop, type PopCallOptions } from './pop-client.js';

export const VOD_VERSION = '2017-03-21';

/** Fields of VOD `CreateUploadVideo` we pass on (PascalCase as the API takes them). */
export interface CreateUploadVideoParams {
  Title: string;
  FileName: string;
  FileSize?: number;
  Description?: string;
  CoverURL?: string;
  CateId?: number;
  /** Comma-separated, at most 16. */
  Tags?: string;
  TemplateGroupId?: string;
  WorkflowId?: string;
  StorageLocation?: string;
  AppId?: string;
  /** JSON string. */
  UserData?: string;
}

/** Where and with what the bytes of a VOD video go (UploadAddress + UploadAuth, decoded). */
export interface VodUploadTicket {
  videoId: string;
  requestId: string;
  address: { endpoint: string; bucket: string; fileName: string };
  auth: Credential & { expireUtcTime: string };
  /** The base64 strings as VOD returned them, for clients that want them verbatim. */
  raw: { uploadAddress: string; uploadAuth: string };
}

/** The VOD calls vod-ingest makes. Implemented once over openapi-core; tests may fake it. */
export interface VodApi {
  createUploadVideo(credential: Credential, params: CreateUploadVideoParams): Promise<VodUploadTicket>;
  refreshUploadVideo(credential: Credential, videoId: string): Promise<VodUploadTicket>;
}

function decode<T>(b64: unknown, what: string): T {
  try {
    return JSON.parse(Buffer.from(String(b64), 'base64').toString('utf8')) as T;
  } catch (err) {
    throw new AppError('VOD_BAD_REPLY', `VOD returned an unreadable ${what}`, { status: 502, retryable: true, cause: err });
  }
}

function ticket(body: Record<string, unknown>): VodUploadTicket {
  const address = decode<{ Endpoint: string; Bucket: string; FileName: string }>(body.UploadAddress, 'UploadAddress');
  const auth = decode<{ AccessKeyId: string; AccessKeySecret: string; SecurityToken: string; Expiration: string; ExpireUTCTime?: string; Region?: string }>(
    body.UploadAuth,
    'UploadAuth',
  );
  // `Expiration` in UploadAuth is a lifetime in seconds; ExpireUTCTime (when sent) is the date.
  const expiresAt = auth.ExpireUTCTime ?? new Date(Date.now() + Number(auth.Expiration) * 1000).toISOString();
  return {
    videoId: String(body.VideoId),
    requestId: String(body.RequestId ?? ''),
    address: { endpoint: address.Endpoint, bucket: address.Bucket, fileName: address.FileName },
    auth: {
      accessKeyId: auth.AccessKeyId,
      accessKeySecret: auth.AccessKeySecret,
      securityToken: auth.SecurityToken,
      expiration: expiresAt,
      expireUtcTime: expiresAt,
      region: auth.Region ?? '',
    },
    raw: { uploadAddress: String(body.UploadAddress), uploadAuth: String(body.UploadAuth) },
  };
}

/** `VodApi` over openapi-core `callApi`, exactly the request the generated VOD client sends. */
export class OpenApiVodClient implements VodApi {
  constructor(private readonly options: PopCallOptions) {}

  async createUploadVideo(credential: Credential, params: CreateUploadVideoParams): Promise<VodUploadTicket> {
    return ticket(await callPop(this.options, credential, VOD_VERSION, 'CreateUploadVideo', { ...params }));
  }

  async refreshUploadVideo(credential: Credential, videoId: string): Promise<VodUploadTicket> {
    return ticket(await callPop(this.options, credential, VOD_VERSION, 'RefreshUploadVideo', { VideoId: videoId }));
  }
}
