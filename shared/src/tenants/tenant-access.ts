import { AppError } from '../errors.js';
import type { JobTarget } from '../jobs/job.schema.js';
import { isVodStorageBucket, type Tenant } from './tenant.js';

/** 403 `TARGET_NOT_ALLOWED`: the tenant may not write there; `field` names what to change. */
export class TargetNotAllowedError extends AppError {
  constructor(field: string, message: string) {
    super('TARGET_NOT_ALLOWED', message, { status: 403, details: [{ field, message }] });
  }
}

/** Throws unless `bucket`/`key` lies inside one of the tenant's OSS places. VOD storage buckets never do. */
export function checkOssPlace(tenant: Tenant, bucket: string, key: string, field = 'target'): void {
  if (isVodStorageBucket(bucket)) throw new TargetNotAllowedError(`${field}.bucket`, `${bucket} is a VOD storage bucket; upload to VOD with a vod target`);
  const inBucket = tenant.oss.filter((g) => g.bucket === bucket);
  if (inBucket.length === 0) throw new TargetNotAllowedError(`${field}.bucket`, `tenant ${tenant.name} may not write to bucket ${bucket}`);
  if (!inBucket.some((g) => key.startsWith(g.prefix))) {
    const prefixes = inBucket.map((g) => `"${g.prefix}"`).join(', ');
    throw new TargetNotAllowedError(`${field}.key`, `tenant ${tenant.name} may write to ${bucket} only under ${prefixes}`);
  }
}

/** The CreateUploadVideo fields a tenant's VOD grant may restrict. */
export interface VodPlacementFields {
  storageLocation?: string;
  templateGroupId?: string;
  workflowId?: string;
  cateId?: number;
}

/** Throws unless the tenant may use VOD, with these placement fields. `prefix`: where the fields sit in the request. */
export function checkVodUse(tenant: Tenant, fields: VodPlacementFields, prefix = ''): void {
  const grant = tenant.vod;
  if (!grant) throw new TargetNotAllowedError(prefix ? `${prefix}type` : '(body)', `tenant ${tenant.name} may not upload to VOD`);
  const limits = [
    ['storageLocation', grant.storageLocations],
    ['templateGroupId', grant.templateGroupIds],
    ['workflowId', grant.workflowIds],
    ['cateId', grant.cateIds],
  ] as const;
  for (const [name, allowed] of limits) {
    const value = fields[name];
    if (value === undefined || allowed === undefined) continue;
    if (!(allowed as readonly unknown[]).includes(value)) throw new TargetNotAllowedError(`${prefix}${name}`, `tenant ${tenant.name} may not use this ${name}`);
  }
}

/** A job's target checked against its tenant, at submission and again by the worker before the first byte. */
export function checkJobTarget(tenant: Tenant, target: JobTarget): void {
  if (target.type === 'oss') checkOssPlace(tenant, target.bucket, target.key);
  else checkVodUse(tenant, target, 'target.');
}
