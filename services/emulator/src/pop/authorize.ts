import type { ResolvedKey } from '../credentials.js';
import { CloudError } from '../errors.js';
import { accountOfRoleArn, evaluatePolicy, type PolicyRequest } from '../policy.js';

/** A POP call: which product's API, the action and its parameters. */
export interface PopCall {
  service: 'sts' | 'vod';
  action: string;
  params: Map<string, string>;
}

/** VOD's answer to a RAM denial (403). */
export function forbiddenRam(): CloudError {
  return new CloudError(403, 'Forbidden.RAM', 'User not authorized to operate on the specified resource.');
}

/** STS's answer when the caller may not assume the role (403). */
function noPermission(): CloudError {
  return new CloudError(403, 'NoPermission', 'You are not authorized to do this action. You should be authorized by RAM.');
}

/**
 * A POP call in RAM's terms. VOD: `vod:<Action>` on `acs:vod:<region>:<account>:*` (policies
 * write `*` or `acs:vod:*:*:*`). STS: `sts:AssumeRole` on the `RoleArn` asked for.
 */
export function popPolicyRequest(call: PopCall, region: string, account: string): PolicyRequest {
  if (call.service === 'sts') return { action: `sts:${call.action}`, resource: call.params.get('RoleArn') ?? '' };
  return { action: `vod:${call.action}`, resource: `acs:vod:${region}:${account}:*` };
}

/**
 * Refuses a POP call the caller may not make. UploadAuth keys (scoped to one object) may call no
 * POP API at all (`Forbidden.RAM`); a key with a session policy only what that policy allows
 * (`Forbidden.RAM` from VOD, `NoPermission` from STS). Keys without either pass.
 */
export function authorizePop(caller: ResolvedKey, call: PopCall, region: string): void {
  if (caller.scope) throw forbiddenRam();
  if (!caller.policy) return;
  const request = popPolicyRequest(call, region, accountOfRoleArn(caller.roleArn));
  if (evaluatePolicy(caller.policy, request) === 'Allow') return;
  throw call.service === 'sts' ? noPermission() : forbiddenRam();
}
