import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError, createGuardedAgent, openGuardedUrl, safeUrl, type Logger, type UrlPolicy } from '@vod-ingest/shared';
import type { Agent } from 'undici';
import { fileSource, type ByteSource } from '../upload/multipart-uploader.js';
import { startWatchdog, type DownloadWatchdog } from './download-watchdog.js';
import { errorForFailure, errorForStatus, tooLarge, truncated } from './url-source.errors.js';

/** Largest body spooled when `maxBytes` is not given: 50 GiB. */
export const DEFAULT_MAX_SOURCE_BYTES = 50 * 1024 ** 3;
/** Whole-download limit when `totalTimeoutMs` is not given: 6 hours. */
export const DEFAULT_TOTAL_TIMEOUT_MS = 6 * 60 * 60 * 1000;
/** Longest wait for a response head or the next body chunk when `idleTimeoutMs` is not given: 60 s. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** What `spoolUrlSource` downloads, where to, and within which limits. */
export interface SpoolUrlOptions {
  /** The job's `source.url` (http or https). */
  url: string;
  /** The job's `source.headers` (Authorization, cookies): sent to the URL's origin only, never logged. */
  headers?: Record<string, string>;
  /** SSRF policy; `allowlist` comes from URL_ALLOWLIST. */
  policy: UrlPolicy;
  /** Directory of the temporary files; created (mode 0700) when missing. Defaults to the OS temp dir. */
  spoolDir?: string;
  /** Defaults to `DEFAULT_MAX_SOURCE_BYTES` (50 GiB). */
  maxBytes?: number;
  /** Defaults to `DEFAULT_TOTAL_TIMEOUT_MS` (6 h). */
  totalTimeoutMs?: number;
  /** Defaults to `DEFAULT_IDLE_TIMEOUT_MS` (60 s). */
  idleTimeoutMs?: number;
  /** Defaults to 5. */
  maxRedirects?: number;
  /** Cancels the download; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /**
   * Called for every body chunk received with the bytes so far and the Content-Length when the
   * origin sent one; throttle in the caller if it reports further.
   */
  onProgress?: (bytesDownloaded: number, bytesTotal: number | undefined) => void;
  log?: Logger;
}

/** A downloaded url source: a `ByteSource` over the spooled file, which `cleanup()` removes. */
export interface SpooledSource {
  source: ByteSource;
  path: string;
  size: number;
  /** Removes the temporary file; safe to call more than once. */
  cleanup(): Promise<void>;
}

/**
 * Downloads a `url` source to a temporary file (random name, mode 0600) so that the uploader can
 * read its parts in parallel and re-read them on retry. The SSRF guard holds at every redirect hop
 * and for the address actually dialled. Streams to disk; never holds the body in memory.
 * On any failure the file is removed and an `AppError` is thrown (codes in `url-source.errors.ts`),
 * except a cancel, which rejects with the caller's `signal.reason`.
 */
export async function spoolUrlSource(opts: SpoolUrlOptions): Promise<SpooledSource> {
  const file = await spoolFilePath(opts.spoolDir ?? tmpdir());
  const where = safeUrl(opts.url);
  const started = Date.now();
  const wd = startWatchdog({
    signal: opts.signal,
    totalMs: opts.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS,
    idleMs: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
  });
  const agent = createGuardedAgent(opts.policy);
  opts.log?.info({ url: where }, 'SourceDownloadStarted');
  try {
    const size = await download(opts, file, wd, agent);
    opts.log?.info({ url: where, bytes: size, ms: Date.now() - started }, 'SourceDownloadFinished');
    return { source: fileSource(file, size), path: file, size, cleanup: () => rm(file, { force: true }) };
  } catch (err) {
    await rm(file, { force: true });
    const failure = wd.signal.aborted ? wd.reason : errorForFailure(err, where);
    const code = failure instanceof AppError ? failure.code : undefined;
    opts.log?.warn({ url: where, code, ms: Date.now() - started }, wd.canceled ? 'SourceDownloadCanceled' : 'SourceDownloadFailed');
    throw failure;
  } finally {
    wd.stop();
    await agent.destroy().catch(() => undefined);
  }
}

async function download(opts: SpoolUrlOptions, file: string, wd: DownloadWatchdog, agent: Agent): Promise<number> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_SOURCE_BYTES;
  const res = await openGuardedUrl({
    url: opts.url,
    headers: opts.headers,
    policy: opts.policy,
    dispatcher: agent,
    signal: wd.signal,
    maxRedirects: opts.maxRedirects,
    log: opts.log,
    onActivity: wd.touch,
    mapFailure: (err, hop) => errorForFailure(err, safeUrl(hop.href)),
  });
  if (res.statusCode < 200 || res.statusCode >= 300) {
    await res.body.dump().catch(() => undefined);
    throw errorForStatus(res.statusCode, safeUrl(res.url.href));
  }
  const declared = res.contentLength;
  if (declared !== undefined && declared > maxBytes) {
    res.body.on('error', () => undefined).destroy(); // stops the transfer; its abort error is expected
    throw tooLarge(maxBytes, declared);
  }
  const meter = new ByteMeter(maxBytes, (bytesDownloaded) => {
    wd.touch();
    opts.onProgress?.(bytesDownloaded, declared);
  });
  try {
    await pipeline(res.body, meter, createWriteStream(file, { flags: 'wx', mode: 0o600 }), { signal: wd.signal });
  } catch (err) {
    throw bodyFailure(err, meter.bytes, declared, safeUrl(res.url.href));
  }
  if (declared !== undefined && meter.bytes !== declared) throw truncated(meter.bytes, declared);
  return meter.bytes;
}

/** A connection lost mid-body is a truncation when the origin had announced more bytes. */
function bodyFailure(err: unknown, received: number, declared: number | undefined, where: string): unknown {
  const mapped = errorForFailure(err, where);
  if (mapped.code === 'SOURCE_URL_UNAVAILABLE' && declared !== undefined && received < declared) {
    return truncated(received, declared, err);
  }
  return mapped;
}

async function spoolFilePath(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, `url-${randomBytes(16).toString('hex')}.part`);
}

/** Counts bytes on their way to disk, refuses the one past `maxBytes`, reports progress. */
class ByteMeter extends Transform {
  bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onChunk: (bytes: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return done(tooLarge(this.maxBytes));
    this.onChunk(this.bytes);
    done(null, chunk);
  }
}
