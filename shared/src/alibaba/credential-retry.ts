import { AppError } from '../errors.js';
import type { Credential, CredentialSource } from './credential.js';

/**
 * Codes with which Alibaba Cloud refuses a credential that has expired or that it no longer
 * knows: POP APIs (STS, VOD) and OSS spell them differently.
 */
export const CREDENTIAL_REJECTED_CODES: ReadonlySet<string> = new Set([
  'InvalidSecurityToken.Expired',
  'InvalidAccessKeyId.NotFound',
  'SecurityTokenExpired',
  'InvalidAccessKeyId',
]);

/** True when `err` says the credential itself was refused (as opposed to the request). */
export function isCredentialRejection(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CREDENTIAL_REJECTED_CODES.has(code);
}

/**
 * Runs `call` with a credential from `source`. If the cloud refuses that credential (expired,
 * revoked), asks `source` for a newer one once and tries again; a second refusal is a 502
 * `CREDENTIALS_REJECTED` (our problem, not the caller's). Other errors pass through unchanged.
 */
export async function withCredential<T>(source: CredentialSource, call: (credential: Credential) => Promise<T>): Promise<T> {
  const first = await source.get();
  try {
    return await call(first);
  } catch (err) {
    if (!isCredentialRejection(err)) throw err;
    const fresh = await source.refreshAfterRejection(first);
    try {
      return await call(fresh);
    } catch (again) {
      if (!isCredentialRejection(again)) throw again;
      throw new AppError('CREDENTIALS_REJECTED', 'Alibaba Cloud refused a freshly issued credential', { status: 502, retryable: true, cause: again });
    }
  }
}
