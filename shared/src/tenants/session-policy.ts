import type { OssGrant, Tenant } from './tenant.js';

/** STS refuses a `Policy` longer than this. */
export const MAX_SESSION_POLICY_CHARS = 2048;

/**
 * RAM actions an uploader needs on its OSS places. OSS authorizes InitiateMultipartUpload,
 * UploadPart and CompleteMultipartUpload as `oss:PutObject`; `oss:GetObject` covers GET and HEAD
 * (resume checks, a client reading back what it wrote).
 */
export const OSS_UPLOAD_ACTIONS = ['oss:PutObject', 'oss:GetObject', 'oss:AbortMultipartUpload', 'oss:ListParts'] as const;

/** RAM actions of VOD's upload flow (the media itself goes up with the UploadAuth VOD hands out). */
export const VOD_UPLOAD_ACTIONS = ['vod:CreateUploadVideo', 'vod:RefreshUploadVideo'] as const;

/** What a credential may reach: OSS places (an `exact` one is a single object) and VOD's upload flow. */
export interface PolicyScope {
  oss: ReadonlyArray<OssGrant & { exact?: boolean }>;
  vod: unknown;
}

/** The RAM resource of an OSS place: `acs:oss:*:*:<bucket>/<prefix>*` (the whole bucket for an empty prefix). */
export const ossResource = (g: OssGrant & { exact?: boolean }) => `acs:oss:*:*:${g.bucket}/${g.prefix}${g.exact ? '' : '*'}`;

/**
 * The STS session policy (AssumeRole `Policy`) of a tenant or a narrower scope: the role's
 * permissions cut down to the tenant's OSS places and, when it uses VOD, the upload flow. A scope
 * with nothing in it gets an explicit deny-all, never the role's full permissions.
 */
export function sessionPolicy(scope: PolicyScope | Pick<Tenant, 'oss' | 'vod'>): string {
  const statements: object[] = [];
  if (scope.oss.length > 0) statements.push({ Effect: 'Allow', Action: [...OSS_UPLOAD_ACTIONS], Resource: scope.oss.map(ossResource) });
  if (scope.vod) statements.push({ Effect: 'Allow', Action: [...VOD_UPLOAD_ACTIONS], Resource: ['*'] });
  if (statements.length === 0) statements.push({ Effect: 'Deny', Action: ['*'], Resource: ['*'] });
  return JSON.stringify({ Version: '1', Statement: statements });
}
