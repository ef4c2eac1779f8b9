import path from 'node:path';
import {
  AppError,
  ValidationError,
  vodFileNameProblem,
  checkUrlTarget,
  probeUrl,
  resolveIngestPath,
  type CacheCipher,
  type JobRequest,
  type JobSource,
} from '@vod-ingest/shared';

export interface SourcePolicy {
  /** INGEST_ROOTS; empty refuses every file source. */
  ingestRoots: readonly string[];
  /** URL_ALLOWLIST: hosts reachable even when private or loopback. */
  allowlist: readonly string[];
  /** Seals url source headers (SOURCE_HEADERS_KEY); without one, headers are refused. */
  headerCipher?: CacheCipher;
}

/** A request that passed every check, ready for `JobStore.create`. */
export interface CheckedRequest {
  request: JobRequest;
  sealedHeaders?: string;
  /** A file source's size in bytes (a url source's is not known here): picks the ingest lane. */
  sourceBytes?: number;
}

/**
 * Checks what the schema cannot: that the source exists and may be read (a file under an ingest
 * root; a url whose every redirect hop is a public or allowlisted address), that a callback goes
 * to such an address too, and that headers can be stored encrypted. Fills in a vod `fileName`.
 */
export async function checkJobRequest(tenant: string, request: JobRequest, policy: SourcePolicy): Promise<CheckedRequest> {
  const sealedHeaders = sealHeaders(tenant, request.source, policy);
  const sourceBytes = await checkSource(request.source, policy);
  if (request.callbackUrl !== undefined) await checkCallbackUrl(request.callbackUrl, policy);
  return { request: withFileName(request), sealedHeaders, sourceBytes };
}

/** Checks the source; returns a file source's size. */
async function checkSource(source: JobSource, policy: SourcePolicy): Promise<number | undefined> {
  if (source.type === 'file') {
    if (policy.ingestRoots.length === 0) {
      throw new AppError('FILE_SOURCES_DISABLED', 'This service has no ingest roots (INGEST_ROOTS): file sources are refused', { status: 403 });
    }
    return (await resolveIngestPath(source.path, policy.ingestRoots)).size;
  }
  try {
    await probeUrl(source.url, { allowlist: policy.allowlist }, { headers: source.headers });
  } catch (err) {
    if (err instanceof AppError) throw err;
    const message = 'source.url could not be reached to check its redirects';
    throw new ValidationError(message, [{ field: 'source.url', message }], 'SOURCE_URL_UNREACHABLE');
  }
  return undefined;
}

/** Headers are stored sealed, bound to the tenant (the worker opens them so), or not at all. */
function sealHeaders(tenant: string, source: JobSource, policy: SourcePolicy): string | undefined {
  if (source.type !== 'url' || !source.headers || Object.keys(source.headers).length === 0) return undefined;
  if (!policy.headerCipher?.encrypted) {
    const message = 'this service stores no source headers (SOURCE_HEADERS_KEY is not configured)';
    throw new ValidationError('source.headers cannot be accepted', [{ field: 'source.headers', message }], 'SOURCE_HEADERS_NOT_CONFIGURED');
  }
  return policy.headerCipher.seal(JSON.stringify(source.headers), tenant);
}

/** The same checks as a url source, reported as `CALLBACK_URL_*` on `callbackUrl`. */
export async function checkCallbackUrl(raw: string, policy: SourcePolicy): Promise<void> {
  try {
    await checkUrlTarget(raw, { allowlist: policy.allowlist });
  } catch (err) {
    if (!(err instanceof AppError) || !err.code.startsWith('SOURCE_URL_')) throw err;
    const code = err.code.replace(/^SOURCE_URL_/, 'CALLBACK_URL_');
    const message = err.message.replaceAll('source.url', 'callbackUrl').replace('; use source.headers', '');
    throw new AppError(code, message, { status: err.status, details: [{ field: 'callbackUrl', message }] });
  }
}

/** A vod target without `fileName` gets the source's base name, when it makes a usable one. */
function withFileName(request: JobRequest): JobRequest {
  const { source, target } = request;
  if (target.type !== 'vod' || target.fileName !== undefined) return request;
  const fileName = source.type === 'file' ? path.basename(source.path) : urlBaseName(source.url);
  // VOD refuses a FileName without a media extension: say so now, not after the job was recorded.
  const problem = fileName === undefined ? 'the source has no usable file name' : vodFileNameProblem(fileName);
  if (problem) {
    const message = `${problem}; set target.fileName (for example clip.mp4)`;
    throw new ValidationError('target.fileName is needed', [{ field: 'target.fileName', message }], 'VALIDATION_FAILED');
  }
  return { ...request, target: { ...target, fileName } };
}

function urlBaseName(raw: string): string | undefined {
  const base = path.posix.basename(new URL(raw).pathname);
  let decoded = base;
  try {
    decoded = decodeURIComponent(base);
  } catch {
    // a malformed escape: keep it as it is
  }
  const usable = (s: string) => s.length > 0 && s.length <= 255 && !/[\\/\u0000-\u001f\u007f]/.test(s);
  return usable(decoded) ? decoded : usable(base) ? base : undefined;
}
