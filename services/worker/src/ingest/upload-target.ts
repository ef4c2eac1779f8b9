import {
  AliOssStore,
  AppError,
  toCreateUploadVideoParams,
  withCredential,
  type CredentialSource,
  type JobRecord,
  type JobStore,
  type Logger,
  type ObjectStore,
  type TenantCredentials,
  type VodApi,
} from '@vod-ingest/shared';
import { DirectPartStore } from '../upload/direct-part.store.js';
import type { WorkerMetrics } from '../worker.metrics.js';
import { meteredStore } from './metered-store.js';
import { VodUploadCredentials } from './vod-upload.credentials.js';

/** Where a job's bytes go, and the store that takes them. */
export interface UploadTarget {
  type: 'vod' | 'oss';
  store: ObjectStore;
  bucket: string;
  key: string;
  videoId?: string;
  contentType?: string;
  meta?: Record<string, string>;
}

export interface TargetDeps {
  vod: VodApi;
  /** The token service's `ingest` profile, scoped per tenant: a job uploads with its tenant's credential. */
  ingest: Pick<TenantCredentials, 'forTenant'>;
  jobs: JobStore;
  /** OSS endpoint for oss targets (OSS_ENDPOINT). */
  ossEndpoint: string;
  /** Force path-style requests (OSS_PATH_STYLE); undefined keeps AliOssStore's localhost detection. */
  ossPathStyle?: boolean;
  region: string;
  metrics: WorkerMetrics;
  log: Logger;
}

/**
 * Opens the job's target. For VOD the video is created once: its placement is stored before the
 * first byte, and a later attempt refreshes that video's UploadAuth instead of creating another.
 */
export async function openTarget(deps: TargetDeps, job: JobRecord, size: number, baseName: string): Promise<UploadTarget> {
  const t = job.target;
  const ingest = deps.ingest.forTenant(job.tenant);
  if (t.type === 'oss') {
    const credentials = countRefreshes(ingest, () => deps.metrics.credentialRefreshes.inc({ source: 'token' }));
    const opts = { endpoint: deps.ossEndpoint, pathStyle: deps.ossPathStyle, bucket: t.bucket, region: deps.region, credentials };
    const store = namingMissingBucket(new DirectPartStore(new AliOssStore(opts), opts), t.bucket);
    return { type: 'oss', store: meteredStore(store, deps.metrics, 'oss'), bucket: t.bucket, key: t.key, contentType: t.contentType, meta: t.metadata };
  }
  const ticket = job.vod
    ? await withCredential(ingest, (c) => deps.vod.refreshUploadVideo(c, job.vod!.videoId))
    : await withCredential(ingest, (c) => deps.vod.createUploadVideo(c, toCreateUploadVideoParams({ ...t, fileName: t.fileName ?? baseName, fileSize: size })));
  if (!job.vod) {
    await deps.jobs.placeVod(job.id, {
      videoId: ticket.videoId,
      endpoint: ticket.address.endpoint,
      bucket: ticket.address.bucket,
      key: ticket.address.fileName,
    });
    deps.log.info({ videoId: ticket.videoId }, 'VodVideoCreated');
  }
  const credentials = new VodUploadCredentials(
    { vod: deps.vod, ingest, log: deps.log, onRefresh: () => deps.metrics.credentialRefreshes.inc({ source: 'vod' }) },
    ticket.videoId,
    ticket,
  );
  const opts = {
    endpoint: ticket.address.endpoint,
    pathStyle: deps.ossPathStyle,
    bucket: ticket.address.bucket,
    region: ticket.auth.region || deps.region,
    credentials,
  };
  const store = new DirectPartStore(new AliOssStore(opts), opts);
  return { type: 'vod', store: meteredStore(store, deps.metrics, 'vod'), bucket: ticket.address.bucket, key: ticket.address.fileName, videoId: ticket.videoId };
}

/**
 * `store` with OSS's `NoSuchBucket` ("The specified bucket does not exist.", naming none) said
 * with the bucket's name, and never retried: no later attempt finds the bucket there.
 */
function namingMissingBucket(store: ObjectStore, bucket: string): ObjectStore {
  const named = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'NoSuchBucket') throw err;
      throw new AppError('NoSuchBucket', `The OSS bucket "${bucket}" does not exist`, {
        status: err.status,
        retryable: false,
        requestId: err.requestId,
        cause: err,
      });
    }
  };
  return {
    initiate: (key, opts) => named(() => store.initiate(key, opts)),
    uploadPart: (key, uploadId, n, size, body) => named(() => store.uploadPart(key, uploadId, n, size, body)),
    listParts: (key, uploadId) => named(() => store.listParts(key, uploadId)),
    complete: (key, uploadId, parts) => named(() => store.complete(key, uploadId, parts)),
    abort: (key, uploadId) => named(() => store.abort(key, uploadId)),
    put: (key, size, body, opts) => named(() => store.put(key, size, body, opts)),
    head: (key) => named(() => store.head(key)),
  };
}

/** `source` with each replacement after a rejection counted. */
function countRefreshes(source: CredentialSource, onRefresh: () => void): CredentialSource {
  return {
    get: () => source.get(),
    refreshAfterRejection: async (rejected) => {
      onRefresh();
      return source.refreshAfterRejection(rejected);
    },
  };
}
