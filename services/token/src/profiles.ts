import { checkOssPlace, checkVodUse, NotFoundError, sessionPolicy, TENANT_NAME, ValidationError, type PolicyScope, type Tenants } from '@vod-ingest/shared';
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

/**
 * A credential narrower than the tenant's: `vod` (VOD's upload flow only, for a browser in the
 * SDK's STS mode) or `object:<bucket>/<key>` (that one object, for a direct upload to OSS).
 */
export type CredentialScope = 'vod' | `object:${string}`;

const SCOPE = /^(vod|object:[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\/.+)$/s;

/** Checks a `scope` query value. */
export const isCredentialScope = (s: string): s is CredentialScope => SCOPE.test(s) && Buffer.byteLength(s) <= 1100;

/** The cache key of a profile's credential for `tenant` (and a narrower scope), or of its unscoped credential. */
export function credentialKey(profile: string, tenant?: string, scope?: CredentialScope): string {
  if (!tenant) return profile;
  if (!scope) return `${profile}/${tenant}`;
  return scope === 'vod' ? `${profile}/${tenant}/vod` : `${profile}/${tenant}/obj/${Buffer.from(scope.slice('object:'.length)).toString('base64url')}`;
}

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

  /**
   * The profile a credential key names; 404 for an unknown profile, 400 for a malformed tenant,
   * 403 `TARGET_NOT_ALLOWED` for a scope outside the tenant's rights (a scope only ever narrows).
   */
  resolve(key: string): RoleProfile {
    const [profile, tenant, kind, arg] = key.split('/') as [string, string | undefined, string | undefined, string | undefined];
    const base = this.base.get(profile);
    if (!base) throw new NotFoundError(`No credential profile "${profile}"`, 'PROFILE_NOT_FOUND');
    if (tenant === undefined) return base;
    if (!TENANT_NAME.test(tenant)) throw new ValidationError('tenant is invalid', [{ field: 'tenant', message: '1-64 of A-Z a-z 0-9 _ . -' }]);
    return {
      name: key,
      roleArn: base.roleArn,
      sessionName: `${base.sessionName}-${tenant}`.slice(0, 64),
      durationSeconds: base.durationSeconds,
      policy: sessionPolicy(this.scopeOf(tenant, kind, arg)),
    };
  }

  private scopeOf(name: string, kind?: string, arg?: string): PolicyScope {
    const tenant = this.tenants.get(name);
    if (kind === undefined) return tenant;
    if (kind === 'vod') {
      checkVodUse(tenant, {});
      return { oss: [], vod: true };
    }
    const [bucket, ...rest] = Buffer.from(arg ?? '', 'base64url')
      .toString('utf8')
      .split('/');
    const objectKey = rest.join('/');
    checkOssPlace(tenant, bucket, objectKey);
    return { oss: [{ bucket, prefix: objectKey, exact: true }], vod: false };
  }
}

/** The base profiles from the environment. */
export function profilesFromConfig(c: TokenConfig): Map<string, RoleProfile> {
  const list: RoleProfile[] = [
    {
      name: 'ingest',
      roleArn: c.ALIBABA_CLOUD_ROLE_ARN,
      sessionName: c.INGEST_SESSION_NAME,
      durationSeconds: c.INGEST_DURATION_SECONDS,
      policy: c.INGEST_SESSION_POLICY,
    },
    {
      name: 'client',
      roleArn: c.CLIENT_ROLE_ARN,
      sessionName: c.CLIENT_SESSION_NAME,
      durationSeconds: c.CLIENT_DURATION_SECONDS,
      policy: c.CLIENT_SESSION_POLICY,
    },
  ];
  return new Map(list.map((p) => [p.name, p]));
}
