/** An OSS place a tenant may write: every key of `bucket` that starts with `prefix` (`""`: the whole bucket). */
export interface OssGrant {
  bucket: string;
  prefix: string;
}

/**
 * VOD use. Each list, when given, is the only values the tenant may name in that CreateUploadVideo
 * field; a request that names none of them uses VOD's defaults and is allowed.
 */
export interface VodGrant {
  storageLocations?: string[];
  templateGroupIds?: string[];
  workflowIds?: string[];
  cateIds?: number[];
}

/** Per-window request ceilings of one tenant's API keys; unset: the service-wide limits. */
export interface TenantRateLimits {
  /** `API_RATE_LIMIT` for this tenant: credential endpoints. */
  credentials?: number;
  /** `JOB_RATE_LIMIT` for this tenant: job submissions. */
  jobs?: number;
}

/** What one tenant is and may do. Everything it may touch is listed here; nothing else is reachable. */
export interface Tenant {
  name: string;
  /** SHA-256 digests of its API keys. */
  apiKeys: Buffer[];
  oss: OssGrant[];
  /** `false`: no VOD at all. */
  vod: VodGrant | false;
  /** Browser origins (`https://app.example.com`) allowed to call the client endpoints. */
  origins: string[];
  rateLimits: TenantRateLimits;
  /** True when the tenants file names it; false for an `API_KEYS`-only tenant (VOD, no OSS). */
  configured: boolean;
}

/** 1-64 of A-Z a-z 0-9 _ . -, starting with a letter or digit (also a safe RoleSessionName suffix). */
export const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Buckets VOD keeps media in (`outin-…`): never an OSS target, whoever asks. */
export const isVodStorageBucket = (bucket: string) => bucket.startsWith('outin-');

/** An `API_KEYS`-only tenant: VOD with its defaults, no OSS target, no browser origin. */
export function shorthandTenant(name: string, apiKeys: Buffer[] = []): Tenant {
  return { name, apiKeys, oss: [], vod: {}, origins: [], rateLimits: {}, configured: false };
}

/**
 * Every tenant of the service, by name. A name the tenants file does not know is treated as an
 * `API_KEYS` shorthand tenant (VOD, no OSS), so a service that reads only the file (the worker,
 * the token service) grants such a tenant exactly what the api does.
 */
export class Tenants {
  private readonly byName: Map<string, Tenant>;

  constructor(list: Tenant[]) {
    this.byName = new Map(list.map((t) => [t.name, t]));
  }

  get(name: string): Tenant {
    return this.byName.get(name) ?? shorthandTenant(name);
  }

  list(): Tenant[] {
    return [...this.byName.values()];
  }
}
