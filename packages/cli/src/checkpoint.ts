import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** ali-oss's multipart checkpoint, without `file` (the path is put back on resume). */
export interface OssCheckpoint {
  name: string;
  fileSize: number;
  partSize: number;
  uploadId: string;
  doneParts: Array<{ number: number; etag: string }>;
}

/**
 * What `upload` needs to go on after being stopped: the direct upload, its client token, where
 * the bytes go and the multipart upload with its finished parts.
 */
export interface UploadCheckpoint {
  version: 1;
  /** The source as it was when the upload began: another size or mtime starts afresh. */
  source: { path: string; size: number; mtimeMs: number };
  /** The command's target options, as JSON: other options start afresh. */
  target: string;
  uploadId: string;
  clientToken: string;
  expiresAt: string;
  /** vod: the video and the UploadAddress of its object. */
  videoId?: string;
  address?: { endpoint: string; bucket: string; object: string };
  oss?: OssCheckpoint;
}

/**
 * `<file>.vod-ingest-upload.json` beside the source when its folder is writable, else
 * `~/.cache/vod-ingest/uploads/<sha256 of the path>.json`.
 */
export function checkpointPathFor(file: string): string {
  const beside = `${file}.vod-ingest-upload.json`;
  try {
    accessSync(path.dirname(file), constants.W_OK);
    return beside;
  } catch {
    const digest = createHash('sha256').update(file).digest('hex').slice(0, 32);
    return path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'vod-ingest', 'uploads', `${digest}.json`);
  }
}

export function readCheckpoint(file: string): UploadCheckpoint | undefined {
  try {
    const cp = JSON.parse(readFileSync(file, 'utf8')) as UploadCheckpoint;
    return cp.version === 1 ? cp : undefined;
  } catch {
    return undefined;
  }
}

/** Written whole and renamed into place, so a kill mid-write leaves the previous one. */
export function writeCheckpoint(file: string, cp: UploadCheckpoint): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(cp), { mode: 0o600 });
  renameSync(tmp, file);
}

export function removeCheckpoint(file: string): void {
  rmSync(file, { force: true });
}
