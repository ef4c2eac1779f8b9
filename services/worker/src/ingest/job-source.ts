import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError, resolveIngestPath, type CacheCipher, type JobRecord } from '@vod-ingest/shared';
import { fileSource, type ByteSource } from '../upload/multipart-uploader.js';

/** A job's bytes, ready to be read in parts, and what to do when the job is done with them. */
export interface OpenedSource {
  source: ByteSource;
  /** File name to default VOD's FileName to. */
  baseName: string;
  /** Says whether the bytes are still what they were when opened (for classifying read errors). */
  unchanged(): Promise<boolean>;
  cleanup(): Promise<void>;
}

/** Downloads a url source to local disk (see sources/url-source.ts). */
export type UrlSpooler = (req: {
  url: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
}) => Promise<{ source: ByteSource; path: string; size: number; cleanup(): Promise<void> }>;

export interface SourceDeps {
  ingestRoots: readonly string[];
  spoolUrl: UrlSpooler;
  /** Opens a url source's sealed headers (SOURCE_HEADERS_KEY). */
  headerCipher?: CacheCipher;
}

/**
 * Opens the job's source. A file is checked against the ingest roots again, as the api did: it
 * may have been replaced by a symlink, or removed, since. A url is downloaded first.
 */
export async function openSource(deps: SourceDeps, job: JobRecord, signal?: AbortSignal, onDownload?: (bytes: number) => void): Promise<OpenedSource> {
  const s = job.source;
  if (s.type === 'file') {
    const file = await resolveIngestPath(s.path, deps.ingestRoots);
    return {
      source: fileSource(file.realPath, file.size),
      baseName: path.basename(s.path),
      unchanged: async () => (await stat(file.realPath).catch(() => undefined))?.size === file.size,
      cleanup: async () => {},
    };
  }
  const headers = job.sealedHeaders ? openHeaders(deps, job) : undefined;
  const spooled = await deps.spoolUrl({ url: s.url, headers, signal, onProgress: onDownload });
  return {
    source: spooled.source,
    baseName: path.basename(new URL(s.url).pathname) || 'media',
    unchanged: async () => true,
    cleanup: () => spooled.cleanup(),
  };
}

function openHeaders(deps: SourceDeps, job: JobRecord): Record<string, string> {
  const plain = deps.headerCipher?.open(job.sealedHeaders!, job.tenant);
  if (!plain) throw new AppError('SOURCE_HEADERS_UNREADABLE', "The url source headers cannot be opened with this worker's SOURCE_HEADERS_KEY", { status: 500 });
  return JSON.parse(plain) as Record<string, string>;
}
