import type { ResolvedKey } from '../credentials.js';
import { CloudError } from '../errors.js';
import { accountOfRoleArn, evaluatePolicy, type PolicyRequest } from '../policy.js';

/**
 * The RAM action each OSS operation is authorized as. RAM names are not API names: the three
 * multipart calls that write data are `oss:PutObject`, and HeadObject needs `oss:GetObject`.
 * Operations missing here are authorized as `oss:<OperationName>`.
 */
export const OSS_RAM_ACTIONS: Readonly<Record<string, string>> = {
  PutObject: 'oss:PutObject',
  PostObject: 'oss:PutObject',
  InitiateMultipartUpload: 'oss:PutObject',
  UploadPart: 'oss:PutObject',
  CompleteMultipartUpload: 'oss:PutObject',
  AbortMultipartUpload: 'oss:AbortMultipartUpload',
  ListParts: 'oss:ListParts',
  GetObject: 'oss:GetObject',
  HeadObject: 'oss:GetObject',
  DeleteObject: 'oss:DeleteObject',
  ListBuckets: 'oss:ListBuckets',
  ListObjects: 'oss:ListObjects',
  BucketHEAD: 'oss:GetBucketInfo',
  BucketPUT: 'oss:PutBucket',
  BucketDELETE: 'oss:DeleteBucket',
};

/** Where the request's operation, bucket and key come from. */
export interface OssTarget {
  action: string;
  bucket?: string;
  key?: string;
}

/**
 * The request in RAM's terms. Resource: `acs:oss:<region>:<account>:<bucket>/<key>` for an
 * object, `acs:oss:<region>:<account>:<bucket>` for a bucket, `acs:oss:<region>:<account>:*`
 * for ListBuckets — region the emulator's, account the assumed role's — so a policy's `*` in
 * the region and account fields matches as on the cloud.
 */
export function ossPolicyRequest(target: OssTarget, region: string, account: string): PolicyRequest {
  const prefix = `acs:oss:${region}:${account}:`;
  const name = !target.bucket ? '*' : target.key === undefined ? target.bucket : `${target.bucket}/${target.key}`;
  return { action: OSS_RAM_ACTIONS[target.action] ?? `oss:${target.action}`, resource: prefix + name };
}

/**
 * Refuses the request with OSS's `AccessDenied` (403, EC 0003-00000301: denied by the STS
 * token's policy) unless the key's session policy allows it. Keys without a session policy —
 * the long-term key, STS tokens assumed without `Policy`, UploadAuth — pass untouched.
 */
export function authorizeOss(key: ResolvedKey, target: OssTarget, region: string): void {
  if (!key.policy) return;
  const request = ossPolicyRequest(target, region, accountOfRoleArn(key.roleArn));
  const decision = evaluatePolicy(key.policy, request);
  if (decision === 'Allow') return;
  const what = target.key === undefined ? 'bucket' : 'object';
  throw new CloudError(403, 'AccessDenied', `You have no right to access this ${what} because of session policy.`, { EC: '0003-00000301' });
}
