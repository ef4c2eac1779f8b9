import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** One tenant of a test's tenants file; `keys` are plaintext (written as their SHA-256 digests). */
export interface TestTenant {
  keys?: string[];
  oss?: Array<{ bucket: string; prefix?: string }>;
  vod?: boolean | Record<string, unknown>;
  origins?: string[];
  rateLimits?: { credentials?: number; jobs?: number };
}

/** `sha256:<hex>` of an API key, as the tenants file holds it. */
export const keyDigest = (key: string) => `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;

/** Writes a tenants file (JSON) to a fresh temporary directory and returns its path, for `TENANTS_FILE`. */
export function writeTenantsFile(tenants: Record<string, TestTenant>): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'vod-ingest-tenants-')), 'tenants.json');
  const body = Object.fromEntries(
    Object.entries(tenants).map(([name, t]) => [
      name,
      {
        apiKeys: (t.keys ?? []).map(keyDigest),
        oss: t.oss ?? [],
        vod: t.vod ?? false,
        origins: t.origins ?? [],
        ...(t.rateLimits ? { rateLimits: t.rateLimits } : {}),
      },
    ]),
  );
  writeFileSync(file, JSON.stringify({ tenants: body }, null, 2));
  return file;
}
