import type { CredentialAuthority } from '../credentials.js';
import { CloudError } from '../errors.js';
import { parseSessionPolicy, PolicyGrammarError, type SessionPolicy } from '../policy.js';

export interface StsOptions {
  authority: CredentialAuthority;
  /** The role's MaxSessionDuration (seconds). */
  maxSessionSeconds: number;
  /** Caps the lifetime actually granted (EMULATOR_TOKEN_TTL_SECONDS). */
  ttlCapSeconds?: number;
}

const ROLE_ARN = /^acs:ram::(\d+):role\/([\w.@+=,-]{1,64})$/i;
const SESSION_NAME = /^[\w.@-]{2,64}$/;

/** STS `AssumeRole`, with the parameter checks and error codes of the cloud. */
export function assumeRole(params: Map<string, string>, opts: StsOptions): Record<string, unknown> {
  const roleArn = params.get('RoleArn');
  if (!roleArn) throw new CloudError(400, 'MissingRoleArn', 'RoleArn is mandatory for this action.');
  const arn = ROLE_ARN.exec(roleArn);
  if (!arn) throw new CloudError(400, 'InvalidParameter.RoleArn', 'The parameter RoleArn is wrongly formed.');
  const session = params.get('RoleSessionName');
  if (!session) throw new CloudError(400, 'MissingRoleSessionName', 'RoleSessionName is mandatory for this action.');
  if (!SESSION_NAME.test(session)) {
    throw new CloudError(400, 'InvalidParameter.RoleSessionName', 'The parameter RoleSessionName is wrongly formed.');
  }
  const rawDuration = params.get('DurationSeconds');
  const duration = rawDuration === undefined ? 3600 : Number(rawDuration);
  if (!Number.isInteger(duration) || duration < 900 || duration > opts.maxSessionSeconds) {
    throw new CloudError(400, 'InvalidParameter.DurationSeconds', `The Min/Max value of DurationSeconds is 15min/${opts.maxSessionSeconds / 60}min.`);
  }
  const policyText = params.get('Policy');
  const ttl = Math.min(duration, opts.ttlCapSeconds ?? duration);
  const cred = opts.authority.issue(ttl, roleArn, { policy: policyText === undefined ? undefined : policyOf(policyText) });
  const roleId = BigInt('0x' + Buffer.from(roleArn).toString('hex').slice(0, 14))
    .toString()
    .slice(0, 19);
  return {
    AssumedRoleUser: { Arn: `acs:ram::${arn[1]}:role/${arn[2]}/${session}`, AssumedRoleId: `${roleId}:${session}` },
    Credentials: {
      AccessKeyId: cred.accessKeyId,
      AccessKeySecret: cred.accessKeySecret,
      SecurityToken: cred.securityToken,
      Expiration: isoSeconds(cred.expiresAt),
    },
  };
}

function policyOf(text: string): SessionPolicy {
  try {
    return parseSessionPolicy(text);
  } catch (err) {
    if (!(err instanceof PolicyGrammarError)) throw err;
    throw new CloudError(400, 'InvalidParameter.PolicyGrammar', `The parameter Policy has not passed grammar check: ${err.message}.`);
  }
}

/** `2026-11-25T09:00:00Z`: ISO 8601 without milliseconds, as STS writes it. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
