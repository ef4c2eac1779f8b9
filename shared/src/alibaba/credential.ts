/** A temporary (STS) credential, as the token service hands it out. */
export interface Credential {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
  /** ISO 8601, e.g. `2026-11-25T09:00:00Z`. */
  expiration: string;
  region: string;
}

/** Where a service gets its STS credential from (the token service, in practice). */
export interface CredentialSource {
  /** A credential valid for a while yet. */
  get(): Promise<Credential>;
  /** Says `rejected` was refused as expired or unknown; returns a newer one. */
  refreshAfterRejection(rejected: Credential): Promise<Credential>;
}

/** Milliseconds until the credential expires (negative when it has). */
export function msToExpiry(c: Pick<Credential, 'expiration'>, now = Date.now()): number {
  return Date.parse(c.expiration) - now;
}
