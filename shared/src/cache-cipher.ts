import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * Seals cache values with AES-256-GCM (`v1.<iv>.<tag>.<ciphertext>`, base64url). The Redis key is
 * bound in as associated data, so a value copied under another profile's key does not open.
 * Without a key it stores plain JSON (and the service warns at start-up).
 */
export class CacheCipher {
  private readonly key?: Buffer;

  constructor(base64Key?: string) {
    this.key = base64Key ? Buffer.from(base64Key, 'base64') : undefined;
    if (this.key && this.key.length !== 32) throw new Error('a cache cipher key must be 32 bytes');
  }

  get encrypted(): boolean {
    return this.key !== undefined;
  }

  seal(plain: string, aad: string): string {
    if (!this.key) return plain;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  /**
   * A digest of `data` for comparing, not for reading back: HMAC-SHA256 under a key derived from
   * this cipher's (so a digest of text holding a secret cannot be guessed offline); plain
   * SHA-256 without a key.
   */
  digest(data: string): string {
    if (!this.key) return createHash('sha256').update(data).digest('hex');
    const macKey = createHmac('sha256', this.key).update('vod-ingest digest key').digest();
    return createHmac('sha256', macKey).update(data).digest('hex');
  }

  /** The plain text, or undefined when the value does not open (wrong key, tampered, plain under a key). */
  open(sealed: string, aad: string): string | undefined {
    if (!this.key) return sealed.startsWith('{') ? sealed : undefined;
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== 'v1') return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(parts[1], 'base64url'));
      decipher.setAAD(Buffer.from(aad));
      decipher.setAuthTag(Buffer.from(parts[2], 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(parts[3], 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
