import OSS from 'ali-oss';
import { type ApiClient, unwrap } from './api.client.js';
import { CliError, EXIT } from './errors.js';

/** An STS credential for OSS, from `/v1/sts-tokens` or a VOD UploadAuth. */
export interface OssCredential {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** Where the bytes go and how to get a newer credential for them. */
export interface Destination {
  endpoint: string;
  bucket: string;
  object: string;
  /** `oss-<region>` */
  region: string;
  credential: OssCredential;
  refresh(): Promise<OssCredential>;
}

/** An oss direct upload: the client token's one-object STS credential, at the endpoint given. */
export async function ossDestination(api: ApiClient, target: { bucket: string; key: string }, endpoint: string | undefined): Promise<Destination> {
  const sts = async () => {
    const t = await unwrap(api.POST('/v1/sts-tokens'), 'sts token');
    return {
      region: t.Region,
      credential: { accessKeyId: t.AccessKeyId, accessKeySecret: t.AccessKeySecret, securityToken: t.SecurityToken, expiresAt: Date.parse(t.Expiration) },
    };
  };
  const first = await sts();
  const region = first.region.startsWith('oss-') ? first.region : `oss-${first.region}`;
  return {
    endpoint: endpoint ?? `https://${region}.aliyuncs.com`,
    bucket: target.bucket,
    object: target.key,
    region,
    credential: first.credential,
    refresh: async () => (await sts()).credential,
  };
}

interface UploadAuthReply {
  VideoId: string;
  UploadAddress: string;
  UploadAuth: string;
}

/** A vod direct upload: VOD's UploadAddress and UploadAuth, refreshed through the api. */
export async function vodDestination(
  api: ApiClient,
  known: { videoId?: string },
  file: { name: string; size: number },
): Promise<Destination & { videoId: string }> {
  const reply: UploadAuthReply = known.videoId
    ? await unwrap(api.POST('/v1/vod/upload-auth/{videoId}/refresh', { params: { path: { videoId: known.videoId } } }), 'upload auth refresh')
    : await unwrap(
        api.POST('/v1/vod/upload-auth', { body: mediaName(file.name) ? { fileName: file.name, fileSize: file.size } : { fileSize: file.size } }),
        'upload auth',
      );
  const address = decode(reply.UploadAddress) as { Endpoint: string; Bucket: string; FileName: string };
  const auth = decode(reply.UploadAuth) as Record<string, string>;
  const videoId = reply.VideoId;
  return {
    videoId,
    endpoint: address.Endpoint,
    bucket: address.Bucket,
    object: address.FileName,
    region: `oss-${auth.Region ?? 'cn-shanghai'}`,
    credential: credentialOf(auth),
    refresh: async () => {
      const r = await unwrap(api.POST('/v1/vod/upload-auth/{videoId}/refresh', { params: { path: { videoId } } }), 'upload auth refresh');
      return credentialOf(decode(r.UploadAuth) as Record<string, string>);
    },
  };
}

const mediaName = (name: string) => /\.(mp4|mov|m4v|mkv|flv|avi|wmv|webm|ts|m3u8|mp3|m4a|wav|aac|flac|ogg|mpg|mpeg|3gp)$/i.test(name);

function decode(b64: string): unknown {
  try {
    return JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
  } catch {
    throw new CliError('the api answered an UploadAuth/UploadAddress that is not base64 JSON', EXIT.io);
  }
}

function credentialOf(auth: Record<string, string>): OssCredential {
  const expiresAt = auth.ExpireUTCTime ? Date.parse(auth.ExpireUTCTime) : Date.now() + Number(auth.Expiration ?? 3000) * 1000;
  return { accessKeyId: auth.AccessKeyId, accessKeySecret: auth.AccessKeySecret, securityToken: auth.SecurityToken, expiresAt };
}

/**
 * An ali-oss client for the destination. Path style for localhost and IP endpoints (a bucket
 * subdomain of localhost does not resolve from Node). ali-oss refreshes the credential on a
 * timer only: set to a little before this one expires.
 */
export function ossClient(d: Destination): OSS {
  const host = new URL(d.endpoint).hostname;
  const pathStyle = host === 'localhost' || /^[\d.]+$/.test(host) || host.includes(':');
  return new OSS({
    endpoint: d.endpoint,
    bucket: d.bucket,
    region: d.region,
    secure: d.endpoint.startsWith('https:'),
    sldEnable: pathStyle,
    accessKeyId: d.credential.accessKeyId,
    accessKeySecret: d.credential.accessKeySecret,
    stsToken: d.credential.securityToken,
    refreshSTSToken: async () => {
      d.credential = await d.refresh();
      return { accessKeyId: d.credential.accessKeyId, accessKeySecret: d.credential.accessKeySecret, stsToken: d.credential.securityToken };
    },
    refreshSTSTokenInterval: Math.max(30_000, (d.credential.expiresAt - Date.now()) * 0.8),
    timeout: 120_000,
  } as OSS.Options);
}
