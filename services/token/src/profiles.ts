import { NotFoundError, sessionPolicy, TENANT_NAME, ValidationError, type Tenants } from '@vod-ingest/shared';
import type { TokenConfig } from './config.js';

/** A role the token service can assume, and how. */
export interface RoleProfile {
  /** What the credential is cached under: the profile (`client`), or profile and tenant (`client/acme`). */
  name: string;
  roleArn: string;
  sessionName: string;
  durationSeconds: number;
  /** Optional session policy (JSON) that narrows the role's permissions. */
  policy?: string;
}

/** The cache key of a profile's credential for `tenant` (or of its unscoped credential). */
export const credentialKey = (profile: string, tenant?: string) => (tenant ? `${profile}/${tenant}` : profile);

/** The profile part of a credential key (`client/acme` → `client`), for metric labels. */
export const profileOf = (key: string) => key.split('/')[0];

/**
 * The role profiles — `ingest` for our workers, `client` for web and mobile apps — and their
 * per-tenant variants: the same role, assumed with the tenant's session policy (only its OSS
 * places and, if it has VOD, the upload flow) and the tenant in the RoleSessionName, so that each
 * (profile, tenant) is one cached credential and one AssumeRole per refresh.
 */
export class RoleProfiles {
  constructor(
    private readonly base: Map<string, RoleProfile>,
    private readonly tenants: Tenants,
  ) {}

  /** The base profile names. */
  names(): string[] {
    return [...this.base.keys()];
  }

  /** The profile a credential key names; 404 for an unknown profile, 400 for a malformed tenant. */
  resolve(key: string): RoleProfile {
    const [profile, tenant] = key.split('/', 2) as [string, string | undefined];
    const base = this.base.get(profile);
    if (!base) throw new NotFoundError(`No credential profile "${profile}"`, 'PROFILE_NOT_FOUND');
    if (tenant === undefined) return base;
    if (!TENANT_NAME.test(tenant)) throw new ValidationError('tenant is invalid', [{ field: 'tenant', message: '1-64 of A-Z a-z 0-9 _ . -' }]);
    return {
      name: key,
      roleArn: base.roleArn,
      sessionName: `${base.sessionName}-${tenant}`.slice(0, 64),
      durationSeconds: base.durationSeconds,
      policy: sessionPolicy(this.tenants.get(tenant)),
    };
  }
}

/** The base profiles from the environment. */
export function profilesFromConfig(c: TokenConfig): Map<string, RoleProfile> {
  const list: RoleProfile[] = [
    { name: 'ingest', roleArn: c.ALIBABA_CLOUD_ROLE_ARN, sessionName: c.INGEST_SESSION_NAME, durationSeconds: c.INGEST_DURATION_SECONDS, policy: c.INGEST_SESSION_POLICY },
    { name: 'client', roleArn: c.CLIENT_ROLE_ARN, sessionName: c.CLIENT_SESSION_NAME, durationSeconds: c.CLIENT_DURATION_SECONDS, policy: c.CLIENT_SESSION_POLICY },
  ];
  return new Map(list.map((p) => [p.name, p]));
}
