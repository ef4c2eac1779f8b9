import {
  AliOssStore,
  withCredential,
  type CreateUploadVideoParams,
  type CredentialSource,
  type JobRecord,
  type JobStore,
  type Logger,
  type ObjectStore,
  type VodApi,
  type VodTarget,
} from '@vod-ingest/shared';
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
  /** The token service's `ingest` profile. */
  ingest: CredentialSource;
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
  if (t.type === 'oss') {
    const credentials = countRefreshes(deps.ingest, () => deps.metrics.credentialRefreshes.inc({ source: 'token' }));
    const store = new AliOssStore({ endpoint: deps.ossEndpoint, pathStyle: deps.ossPathStyle, bucket: t.bucket, region: deps.region, credentials });
    return { type: 'oss', store: meteredStore(store, deps.metrics, 'oss'), bucket: t.bucket, key: t.key, contentType: t.contentType, meta: t.metadata };
  }
  const ticket = job.vod
    ? await withCredential(deps.ingest, (c) => deps.vod.refreshUploadVideo(c, job.vod!.videoId))
    : await withCredential(deps.ingest, (c) => deps.vod.createUploadVideo(c, createParams(t, size, baseName)));
  if (!job.vod) {
    await deps.jobs.placeVod(job.id, { videoId: ticket.videoId, endpoint: ticket.address.endpoint, bucket: ticket.address.bucket, key: ticket.address.fileName });
    deps.log.info({ videoId: ticket.videoId }, 'VodVideoCreated');
  }
  const credentials = new VodUploadCredentials(
    { vod: deps.vod, ingest: deps.ingest, log: deps.log, onRefresh: () => deps.metrics.credentialRefreshes.inc({ source: 'vod' }) },
    ticket.videoId,
    ticket,
  );
  const store = new AliOssStore({ endpoint: ticket.address.endpoint, pathStyle: deps.ossPathStyle, bucket: ticket.address.bucket, region: ticket.auth.region || deps.region, credentials });
  return { type: 'vod', store: meteredStore(store, deps.metrics, 'vod'), bucket: ticket.address.bucket, key: ticket.address.fileName, videoId: ticket.videoId };
}

function createParams(t: VodTarget, size: number, baseName: string): CreateUploadVideoParams {
  const p: CreateUploadVideoParams = { Title: t.title, FileName: t.fileName ?? baseName, FileSize: size };
  if (t.description !== undefined) p.Description = t.description;
  if (t.coverUrl !== undefined) p.CoverURL = t.coverUrl;
  if (t.cateId !== undefined) p.CateId = t.cateId;
  if (t.tags?.length) p.Tags = t.tags.join(',');
  if (t.templateGroupId) p.TemplateGroupId = t.templateGroupId;
  if (t.workflowId) p.WorkflowId = t.workflowId;
  if (t.storageLocation) p.StorageLocation = t.storageLocation;
  if (t.appId) p.AppId = t.appId;
  if (t.userData) p.UserData = JSON.stringify(t.userData);
  return p;
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
