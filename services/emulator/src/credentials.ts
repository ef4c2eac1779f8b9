import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CloudError } from './errors.js';
import type { SessionPolicy } from './policy.js';

/** What a request's key resolves to. */
export interface ResolvedKey {
  accessKeyId: string;
  secret: string;
  kind: 'long-term' | 'sts';
  /** For STS keys: when the credential stops working (ms since epoch). */
  expiresAt?: number;
  /** For STS keys: the role assumed. */
  roleArn?: string;
  /** For UploadAuth keys: the one object they may write. */
  scope?: { bucket: string; key: string };
  /** For STS keys issued with a session policy: everything they may do (see policy.ts). */
  policy?: SessionPolicy;
}

/** What an STS credential is limited to, beyond its lifetime. */
export interface Grant {
  scope?: { bucket: string; key: string };
  policy?: SessionPolicy;
}

interface TokenPayload {
  ak: string;
  exp: number; // seconds since epoch
  arn: string;
  scope?: { bucket: string; key: string };
  pol?: SessionPolicy;
}

/** A resolve failure; the front ends map `reason` to their own error codes. */
export type KeyProblem = 'unknown-key' | 'missing-token' | 'bad-token' | 'token-mismatch' | 'expired';

export class KeyError extends Error {
  constructor(readonly reason: KeyProblem) {
    super(reason);
  }
}

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789';
function randomId(len: number): string {
  const bytes = randomBytes(len);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return s;
}

/**
 * Issues and checks credentials. STS credentials are stateless: the security token carries the
 * access key id, expiry, scope and session policy under an HMAC keyed from the long-term secret,
 * and the STS secret is derived from the key id — so tokens survive an emulator restart, and a
 * token that was altered (its policy widened, say), or paired with another key id, is refused.
 */
export class CredentialAuthority {
  private readonly signingKey: Buffer;

  constructor(
    private readonly longTermKeyId: string,
    private readonly longTermSecret: string,
  ) {
    this.signingKey = createHmac('sha256', longTermSecret).update('vod-ingest-emulator/sts/v1').digest();
  }

  /** New STS credentials living `ttlSeconds`. */
  issue(ttlSeconds: number, roleArn: string, grant: Grant = {}) {
    const accessKeyId = `STS.NT${randomId(26)}`;
    const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
    const payload: TokenPayload = {
      ak: accessKeyId,
      exp,
      arn: roleArn,
      ...(grant.scope ? { scope: grant.scope } : {}),
      ...(grant.policy ? { pol: grant.policy } : {}),
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const mac = createHmac('sha256', this.signingKey).update(body).digest('base64url');
    return {
      accessKeyId,
      accessKeySecret: this.stsSecret(accessKeyId),
      securityToken: `CAIS${body}.${mac}`,
      expiresAt: exp * 1000,
    };
  }

  /** The secret for an access key id, checking the STS token when the key is temporary. */
  resolve(accessKeyId: string, securityToken: string | undefined, now = Date.now()): ResolvedKey {
    if (accessKeyId === this.longTermKeyId) {
      return { accessKeyId, secret: this.longTermSecret, kind: 'long-term' };
    }
    if (!accessKeyId.startsWith('STS.')) throw new KeyError('unknown-key');
    if (!securityToken) throw new KeyError('missing-token');
    const payload = this.verifyToken(securityToken);
    if (payload.ak !== accessKeyId) throw new KeyError('token-mismatch');
    if (payload.exp * 1000 <= now) throw new KeyError('expired');
    return {
      accessKeyId,
      secret: this.stsSecret(accessKeyId),
      kind: 'sts',
      expiresAt: payload.exp * 1000,
      roleArn: payload.arn,
      scope: payload.scope,
      policy: payload.pol,
    };
  }

  private verifyToken(token: string): TokenPayload {
    const m = /^CAIS([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(token);
    if (!m) throw new KeyError('bad-token');
    const expected = createHmac('sha256', this.signingKey).update(m[1]).digest();
    const given = Buffer.from(m[2], 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new KeyError('bad-token');
    return JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')) as TokenPayload;
  }

  private stsSecret(accessKeyId: string): string {
    return createHmac('sha256', this.signingKey).update(`secret:${accessKeyId}`).digest('base64url').slice(0, 30);
  }
}

/** Maps a key problem to the OSS error of the cloud. */
export function ossKeyError(e: KeyError): CloudError {
  switch (e.reason) {
    case 'unknown-key':
      return new CloudError(403, 'InvalidAccessKeyId', 'The OSS Access Key Id you provided does not exist in our records.');
    case 'expired':
      return new CloudError(403, 'SecurityTokenExpired', 'The security token you provided has expired.');
    case 'missing-token':
      return new CloudError(403, 'InvalidAccessKeyId', 'The temporary access key id needs a security token (x-oss-security-token).');
    default:
      return new CloudError(403, 'InvalidSecurityToken', 'The security token you provided is invalid.');
  }
}

/** Maps a key problem to the POP (STS / VOD) error of the cloud. */
export function popKeyError(e: KeyError): CloudError {
  switch (e.reason) {
    case 'unknown-key':
      return new CloudError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
    case 'expired':
      return new CloudError(403, 'InvalidSecurityToken.Expired', 'Specified SecurityToken is expired.');
    case 'missing-token':
      return new CloudError(400, 'MissingSecurityToken', 'SecurityToken is mandatory for this access key.');
    case 'token-mismatch':
      return new CloudError(400, 'InvalidSecurityToken.MismatchWithAccessKey', 'Specified SecurityToken mismatch with the AccessKey.');
    default:
      return new CloudError(400, 'InvalidSecurityToken.Malformed', 'Specified SecurityToken is malformed.');
  }
}
