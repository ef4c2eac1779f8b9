import { createHmac, randomUUID } from 'node:crypto';
import * as Core from '@alicloud/openapi-core';
import * as StsModule from '@alicloud/sts20150401';
import OSS from 'ali-oss';
import type { TestEmulator } from '@vod-ingest/shared/testing';

/** STS credentials as AssumeRole returns them. */
export interface StsCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  expiration: string;
}

// CommonJS interop: the client classes sit at `.default.default` when imported from ESM.
const OpenApiClient = (Core as unknown as { default: { default: new (c: unknown) => OpenApi } }).default.default;
const StsClient = (StsModule as unknown as { default: { default: new (c: unknown) => StsApi } }).default.default;
const { $OpenApiUtil, OpenApiUtil } = Core as unknown as {
  $OpenApiUtil: { Config: new (c: object) => unknown; Params: new (p: object) => unknown; OpenApiRequest: new (r: object) => unknown };
  OpenApiUtil: { query(p: object): Record<string, string> };
};
const { AssumeRoleRequest } = StsModule as unknown as { AssumeRoleRequest: new (r: object) => unknown };
const { RuntimeOptions } = (await import('@darabonba/typescript')) as unknown as { RuntimeOptions: new (o: object) => unknown };

interface OpenApi {
  callApi(params: unknown, request: unknown, runtime: unknown): Promise<{ body: Record<string, unknown> }>;
}
interface StsApi {
  assumeRole(req: unknown): Promise<{ body: { credentials: { accessKeyId: string; accessKeySecret: string; securityToken: string; expiration: string } } }>;
}

export interface PopCallerOptions {
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
  signatureAlgorithm?: 'v2';
}

function popConfig(emu: TestEmulator, o: PopCallerOptions): unknown {
  return new $OpenApiUtil.Config({
    accessKeyId: o.accessKeyId ?? emu.accessKeyId,
    accessKeySecret: o.accessKeySecret ?? emu.accessKeySecret,
    securityToken: o.securityToken,
    endpoint: emu.hostPort,
    protocol: 'http',
    regionId: emu.region,
    ...(o.signatureAlgorithm ? { signatureAlgorithm: o.signatureAlgorithm } : {}),
  });
}

/** STS AssumeRole through the official `@alicloud/sts20150401` client. */
export async function assumeRole(
  emu: TestEmulator,
  request: { roleArn?: string; roleSessionName?: string; durationSeconds?: number; policy?: string } = {},
  caller: PopCallerOptions = {},
): Promise<StsCredentials> {
  const client = new StsClient(popConfig(emu, caller));
  const res = await client.assumeRole(
    new AssumeRoleRequest({
      roleArn: request.roleArn ?? 'acs:ram::1234567890123456:role/vod-ingest',
      roleSessionName: request.roleSessionName ?? 'vod-ingest-test',
      durationSeconds: request.durationSeconds ?? 3600,
      policy: request.policy,
    }),
  );
  return res.body.credentials;
}

/** A VOD action through openapi-core `callApi`, exactly as the generated VOD client sends it. */
export async function callVod(emu: TestEmulator, action: string, params: Record<string, unknown>, caller: PopCallerOptions): Promise<Record<string, unknown>> {
  const client = new OpenApiClient(popConfig(emu, caller));
  const p = new $OpenApiUtil.Params({
    action,
    version: '2017-03-21',
    protocol: 'HTTP',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
  const res = await client.callApi(p, new $OpenApiUtil.OpenApiRequest({ query: OpenApiUtil.query(params) }), new RuntimeOptions({}));
  return res.body;
}

/** ali-oss as a client app would configure it against the emulator. */
export function ossClient(
  emu: TestEmulator,
  creds: Partial<StsCredentials> & { accessKeyId: string; accessKeySecret: string },
  opts: { v4?: boolean; bucket?: string; timeout?: number } = {},
): OSS {
  return new OSS({
    endpoint: emu.url,
    sldEnable: true,
    region: `oss-${emu.region}`,
    accessKeyId: creds.accessKeyId,
    accessKeySecret: creds.accessKeySecret,
    stsToken: creds.securityToken,
    bucket: opts.bucket ?? emu.bucket,
    authorizationV4: opts.v4 ?? false,
    timeout: opts.timeout ?? 120_000,
  } as OSS.Options);
}

/** aliyun-upload-vod's `aliyunEncodeURI`: encodeURIComponent plus `!'()*`, `~` kept. */
function webSdkEncode(v: string): string {
  return encodeURIComponent(v)
    .replace(/\+/g, '%20')
    .replace(/\*/g, '%2A')
    .replace(/%7E/g, '~')
    .replace(/!/g, '%21')
    .replace(/\(/g, '%28')
    .replace(/\)/g, '%29')
    .replace(/'/g, '%27');
}

/**
 * The URL of a VOD call exactly as Alibaba's web upload SDK (aliyun-upload-vod 1.0.6,
 * `Data.getUploadAuth`) builds it in STS mode: every parameter in the query, sorted by name,
 * `Format=JSON` and a `RequestId`, signed HMAC-SHA1 over `GET&%2F&<encoded query>` — and no
 * `Timestamp`. `extra` overrides or adds parameters (a Timestamp, say) before signing.
 */
export function webSdkVodUrl(
  emu: TestEmulator,
  creds: { accessKeyId: string; accessKeySecret: string; securityToken: string },
  action: string,
  params: Record<string, string>,
  extra: Record<string, string> = {},
): string {
  const all: Record<string, string> = {
    AccessKeyId: creds.accessKeyId,
    SecurityToken: creds.securityToken,
    Action: action,
    ...params,
    Version: '2017-03-21',
    Format: 'JSON',
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    SignatureNonce: randomUUID(),
    RequestId: randomUUID(),
    ...extra,
  };
  const query = Object.keys(all)
    .sort()
    .map((k) => `${webSdkEncode(k)}=${webSdkEncode(all[k])}`)
    .join('&');
  const signature = createHmac('sha1', `${creds.accessKeySecret}&`)
    .update(`GET&${webSdkEncode('/')}&${webSdkEncode(query)}`)
    .digest('base64');
  return `${emu.url}/?${query}&Signature=${webSdkEncode(signature)}`;
}
