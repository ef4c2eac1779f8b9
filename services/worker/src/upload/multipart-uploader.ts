import type { Readable } from 'node:stream';
import { AppError, Crc64, isRetryable, retry, type Logger, type ObjectInfo, type ObjectStore, type UploadedPart } from '@vod-ingest/shared';
import type { CheckpointStore, UploadCheckpoint } from './checkpoint.store.js';
import { FileRange } from './file-range.js';
import { planParts, type PartPlan, type PartRange } from './part-plan.js';

/** Bytes to upload, readable again from any offset (so a part can be re-sent). */
export interface ByteSource {
  size: number;
  /** Bytes `start` (inclusive) to `end` (exclusive). */
  read(start: number, end: number): Readable;
}

/** A file's bytes; each range is a `FileRange`, which `DirectPartStore` sends from pooled buffers. */
export function fileSource(path: string, size: number): ByteSource {
  return { size, read: (start, end) => new FileRange(path, start, end) };
}

export interface UploadProgress {
  bytesUploaded: number;
  bytesTotal: number;
  partsUploaded: number;
  partsTotal: number;
}

export interface UploadRequest {
  /** Names the checkpoint; the same job resumes from it. */
  jobId: string;
  key: string;
  source: ByteSource;
  /** Defaults to 8 MiB; grown so that no upload needs more than 10,000 parts. */
  partSize?: number;
  /** Parts in flight at once. Defaults to 5. */
  parallel?: number;
  /** Retries per part on retryable errors. Defaults to 3. */
  retryCount?: number;
  /** First retry delay (ms), doubling, with jitter, each wait capped at 30 s. Defaults to 2000. */
  retryDurationMs?: number;
  contentType?: string;
  /** User metadata, stored as `x-oss-meta-*`. */
  meta?: Record<string, string>;
  /** Aborting stops at a part boundary: calls in flight finish and are checkpointed; a retry's wait ends at once. */
  signal?: AbortSignal;
  onProgress?: (p: UploadProgress) => void;
  onPartRetry?: (reason: string) => void;
}

export interface UploadOutcome extends ObjectInfo {
  uploadId?: string;
  /** Parts sent by this run (resumed parts are not sent again). */
  partsSent: number;
}

export interface UploaderDeps {
  store: ObjectStore;
  checkpoints: CheckpointStore;
  log: Logger;
}

/** The upload was paused by its signal; its checkpoint is saved. */
export class UploadPausedError extends AppError {
  constructor() {
    super('UPLOAD_PAUSED', 'Upload paused at a part boundary; resume from its checkpoint', { status: 503, retryable: true });
  }
}

const isNoSuchUpload = (err: unknown) => (err as { code?: string }).code === 'NoSuchUpload';

/**
 * Uploads `source` to `key`: a single PUT below one part, else a multipart upload that resumes
 * from its Redis checkpoint (checked against ListParts), sends parts `parallel` at a time with
 * per-part retries, checkpoints each confirmed part, and completes with CRC-64 checks. An upload
 * OSS no longer knows (`NoSuchUpload`) is started again, once.
 */
export async function uploadObject(deps: UploaderDeps, req: UploadRequest): Promise<UploadOutcome> {
  // A url source can download to nothing; no attempt would ever upload it.
  if (req.source.size === 0) throw new AppError('SOURCE_EMPTY', 'The source is empty (0 bytes): there is nothing to upload', { status: 400 });
  const plan = planParts(req.source.size, req.partSize);
  if (plan.single) {
    const info = await withRetries(req, () =>
      deps.store.put(req.key, req.source.size, () => req.source.read(0, req.source.size), { contentType: req.contentType, meta: req.meta }),
    );
    req.onProgress?.({ bytesUploaded: info.size, bytesTotal: info.size, partsUploaded: 1, partsTotal: 1 });
    return { ...info, partsSent: 1 };
  }
  try {
    return await uploadMultipart(deps, req, plan);
  } catch (err) {
    if (!isNoSuchUpload(err)) throw err;
    deps.log.warn({ jobId: req.jobId }, 'MultipartUploadVanished');
    await deps.checkpoints.clear(req.jobId);
    return uploadMultipart(deps, req, plan);
  }
}

async function uploadMultipart(deps: UploaderDeps, req: UploadRequest, plan: PartPlan): Promise<UploadOutcome> {
  const { uploadId, done } = await resumeOrStart(deps, req, plan);
  const pending = plan.parts.filter((p) => !done.has(p.partNumber));
  const progress = () =>
    req.onProgress?.({
      bytesUploaded: [...done.values()].reduce((n, p) => n + p.size, 0),
      bytesTotal: req.source.size,
      partsUploaded: done.size,
      partsTotal: plan.parts.length,
    });
  progress();
  let next = 0;
  let sent = 0;
  const worker = async () => {
    while (next < pending.length && !req.signal?.aborted) {
      const range = pending[next++];
      const part = await withRetries(req, () =>
        deps.store.uploadPart(req.key, uploadId, range.partNumber, range.end - range.start, () => req.source.read(range.start, range.end)),
      );
      await deps.checkpoints.savePart(req.jobId, part);
      done.set(part.partNumber, part);
      sent++;
      progress();
    }
  };
  await Promise.all(Array.from({ length: Math.min(req.parallel ?? 5, pending.length || 1) }, worker));
  if (done.size < plan.parts.length) throw new UploadPausedError();
  const info = await withRetries(req, () => deps.store.complete(req.key, uploadId, [...done.values()]));
  return { ...info, uploadId, partsSent: sent };
}

/** The checkpoint's upload with the parts OSS still holds, or a new upload. */
async function resumeOrStart(deps: UploaderDeps, req: UploadRequest, plan: PartPlan): Promise<{ uploadId: string; done: Map<number, UploadedPart> }> {
  const cp = await deps.checkpoints.load(req.jobId);
  if (cp && cp.key === req.key && cp.size === req.source.size && cp.partSize === plan.partSize) {
    try {
      const done = await confirmedParts(deps, req, plan, cp);
      deps.log.info({ jobId: req.jobId, uploadId: cp.uploadId, resumedParts: done.size }, 'UploadResumed');
      return { uploadId: cp.uploadId, done };
    } catch (err) {
      if (!isNoSuchUpload(err)) throw err;
      deps.log.warn({ jobId: req.jobId, uploadId: cp.uploadId }, 'CheckpointUploadGone');
    }
  }
  const uploadId = await withRetries(req, () => deps.store.initiate(req.key, { contentType: req.contentType, meta: req.meta }));
  await deps.checkpoints.begin(req.jobId, { uploadId, key: req.key, size: req.source.size, partSize: plan.partSize });
  return { uploadId, done: new Map() };
}

/**
 * Parts that need not be sent again: OSS lists them, and their ETag matches the checkpoint — or,
 * for a part confirmed by OSS after the last checkpoint write (a crash in between), its CRC-64
 * matches the local bytes. A checkpoint is never trusted alone.
 */
async function confirmedParts(deps: UploaderDeps, req: UploadRequest, plan: PartPlan, cp: UploadCheckpoint): Promise<Map<number, UploadedPart>> {
  const listed = await deps.store.listParts(req.key, cp.uploadId);
  const ranges = new Map(plan.parts.map((r) => [r.partNumber, r]));
  const done = new Map<number, UploadedPart>();
  for (const part of listed) {
    const range = ranges.get(part.partNumber);
    if (!range || part.size !== range.end - range.start) continue;
    const saved = cp.parts.get(part.partNumber);
    if (saved && saved.etag === part.etag && saved.crc64 === part.crc64) {
      done.set(part.partNumber, saved);
    } else if (part.crc64 && part.crc64 === (await localCrc(req.source, range))) {
      done.set(part.partNumber, part);
      await deps.checkpoints.savePart(req.jobId, part);
    }
  }
  return done;
}

async function localCrc(source: ByteSource, range: PartRange): Promise<string> {
  const crc = new Crc64();
  for await (const chunk of source.read(range.start, range.end)) crc.update(chunk as Buffer);
  return crc.digestString();
}

/** Longest wait between two tries of one call, whatever retryDurationMs and retryCount ask. */
const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Retries retryable failures (5xx, network, throttling, CRC mismatch) with capped, doubling,
 * jittered backoff; an aborted signal ends a wait at once (the call's last error is thrown).
 */
function withRetries<T>(req: UploadRequest, call: () => Promise<T>): Promise<T> {
  return retry(call, {
    retries: req.retryCount ?? 3,
    baseMs: req.retryDurationMs ?? 2000,
    maxDelayMs: MAX_RETRY_DELAY_MS,
    retryable: (err) => isRetryable(err) && !isNoSuchUpload(err),
    onRetry: (err) => req.onPartRetry?.((err as { code?: string }).code ?? 'UNKNOWN'),
    signal: req.signal,
  });
}
