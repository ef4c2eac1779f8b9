import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { MAX_SESSION_POLICY_CHARS, sessionPolicy } from './session-policy.js';
import { isVodStorageBucket, TENANT_NAME, type Tenant } from './tenant.js';

const BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const HOST = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

const prefix = z
  .string()
  .refine((p) => Buffer.byteLength(p) <= 1023, 'at most 1,023 bytes')
  .refine((p) => !p.startsWith('/') && !p.startsWith('\\'), 'must not start with a slash')
  .refine((p) => !CONTROL.test(p) && !/\p{Cs}/u.test(p), 'no control characters or broken Unicode')
  // `*` and `?` are wildcards in a RAM policy: a prefix holding one would grant more than it says.
  .refine((p) => !/[*?]/.test(p), 'must not contain * or ?');

const origin = z.string().refine((o) => {
  try {
    const u = new URL(o);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === o;
  } catch {
    return false;
  }
}, 'an origin: scheme://host[:port], no path or trailing slash');

const vodGrant = z.strictObject({
  storageLocations: z.array(z.string().regex(HOST, 'a storage address such as outin-xxx.oss-cn-shanghai.aliyuncs.com')).optional(),
  templateGroupIds: z.array(z.string().regex(ID, '1-64 of A-Z a-z 0-9 _ -')).optional(),
  workflowIds: z.array(z.string().regex(ID, '1-64 of A-Z a-z 0-9 _ -')).optional(),
  cateIds: z.array(z.number().int().positive()).optional(),
});

const tenantEntry = z.strictObject({
  /** SHA-256 digests of the tenant's API keys: plaintext keys never sit in the file. */
  apiKeys: z.array(z.string().regex(/^sha256:[0-9a-fA-F]{64}$/, 'sha256:<64 hex digits> (the SHA-256 of the key)')).default([]),
  oss: z
    .array(
      z.strictObject({
        bucket: z
          .string()
          .regex(BUCKET, '3-63 of a-z 0-9 -, starting and ending with a letter or digit')
          .refine((b) => !isVodStorageBucket(b), 'a VOD storage bucket (outin-…) is never an OSS target'),
        prefix: prefix.default(''),
      }),
    )
    .max(20, 'at most 20 OSS places (the session policy must stay under 2,048 characters)')
    .default([]),
  vod: z.union([z.boolean(), vodGrant]).default(false),
  origins: z.array(origin).max(20).default([]),
  rateLimits: z.strictObject({ credentials: z.number().int().min(1).optional(), jobs: z.number().int().min(1).optional() }).default({}),
});

/** The tenants file: `{"tenants": {"<name>": {apiKeys, oss, vod, origins, rateLimits}}}` (JSON or YAML). */
export const tenantsFileSchema = z.strictObject({
  tenants: z.record(z.string().regex(TENANT_NAME, 'a tenant name is 1-64 of A-Z a-z 0-9 _ . -'), tenantEntry),
});

/** Reads and checks a tenants file. Every problem is listed (`where: what`), as config problems are. */
export function readTenantsFile(file: string): { tenants: Tenant[]; problems: string[] } {
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = path.extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    return { tenants: [], problems: [`cannot read ${file}: ${(err as Error).message.split('\n')[0]}`] };
  }
  const parsed = tenantsFileSchema.safeParse(raw);
  if (!parsed.success) {
    return { tenants: [], problems: parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(file)'}: ${i.message}`) };
  }
  const tenants: Tenant[] = Object.entries(parsed.data.tenants).map(([name, t]) => ({
    name,
    apiKeys: t.apiKeys.map((k) => Buffer.from(k.slice('sha256:'.length), 'hex')),
    oss: t.oss,
    vod: t.vod === true ? {} : t.vod,
    origins: t.origins,
    rateLimits: t.rateLimits,
    configured: true,
  }));
  return { tenants, problems: crossProblems(tenants) };
}

/** What no single entry shows: one tenant's place inside another's, a key given twice, a policy too long. */
function crossProblems(tenants: Tenant[]): string[] {
  const problems: string[] = [];
  const places = tenants.flatMap((t) => t.oss.map((g) => ({ tenant: t.name, ...g })));
  for (const [i, a] of places.entries()) {
    for (const b of places.slice(i + 1)) {
      if (a.tenant === b.tenant || a.bucket !== b.bucket) continue;
      if (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix)) {
        problems.push(`tenants.${a.tenant}.oss: ${a.bucket}/${a.prefix} overlaps tenant ${b.tenant}'s ${b.bucket}/${b.prefix}`);
      }
    }
  }
  const vodBuckets = new Set(tenants.flatMap((t) => (t.vod ? (t.vod.storageLocations ?? []).map((s) => s.split('.')[0]) : [])));
  for (const p of places) {
    if (vodBuckets.has(p.bucket)) problems.push(`tenants.${p.tenant}.oss: ${p.bucket} is a VOD storage location, never an OSS target`);
  }
  const owners = new Map<string, string>();
  for (const t of tenants) {
    for (const k of t.apiKeys) {
      const hex = k.toString('hex');
      const other = owners.get(hex);
      if (other) problems.push(`tenants.${t.name}.apiKeys: a key of tenant ${other} is given again`);
      owners.set(hex, t.name);
    }
    const length = sessionPolicy(t).length;
    if (length > MAX_SESSION_POLICY_CHARS) {
      problems.push(`tenants.${t.name}.oss: its session policy would be ${length} characters, over STS's ${MAX_SESSION_POLICY_CHARS}`);
    }
  }
  return problems;
}

/**
 * The `TENANTS_FILE` variable in a service's config schema: unset → no tenants from a file; set →
 * the file's tenants, or every problem of the file as config problems (the service exits 1).
 */
export const tenantsFileVar = z
  .string()
  .optional()
  .transform((file, ctx): Tenant[] => {
    if (!file) return [];
    const { tenants, problems } = readTenantsFile(file);
    for (const message of problems) ctx.addIssue({ code: 'custom', message });
    return tenants;
  });
