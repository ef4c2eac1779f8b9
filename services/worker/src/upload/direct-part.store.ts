import { closeSync, openSync, read, readSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import {
  AppError,
  aliOssCreateRequest,
  Crc64,
  sharedAliOssClient,
  mapOssError,
  ossPutSigner,
  withCredential,
  type AliOssStoreOptions,
  type PutRequest,
  type Credential,
  type ObjectInfo,
  type ObjectStore,
  type UploadedPart,
} from '@vod-ingest/shared';
import type OSS from 'ali-oss';
import { ChunkRing } from './chunk-ring.js';
import { FileRange } from './file-range.js';

/** What ali-oss builds a request from, and the request it signs (`lib/common/utils/createRequest.js`). */
interface SignedRequest {
  url: string;
  params: { headers: Record<string, string>; timeout?: number };
}
interface OssInternals {
  _objectRequestParams(method: string, name: string, options: { headers: Record<string, string | number>; subres: Record<string, string | number> }): object;
  requestError(result: { status: number; headers: http.IncomingHttpHeaders; data: Buffer }): Promise<unknown>;
}

const createRequest = aliOssCreateRequest as (this: OSS, params: object) => SignedRequest;

// Idle connections are closed after 4 s, before a server's own keep-alive timeout (Node's: 5 s) can race a reuse.
const agentOptions = { keepAlive: true, timeout: 4000 };
const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };
/** Raised inside a part upload when OSS answered before the whole body was sent. */
const ANSWERED_EARLY = Symbol('answered early');

/**
 * `inner` with UploadPart of a file range sent by us: the bytes are read into a few pooled buffers
 * that are reused once their socket write completes (no allocation, copy or stream per chunk),
 * CRC-64'd in place as they are read, and the request is signed exactly as ali-oss's own
 * `_uploadPart` signs it (see signedRequest; no Content-MD5: OSS does not require one for parts,
 * ali-oss sends none).
 * The answer is checked as AliOssStore checks it: the part's `x-oss-hash-crc64ecma` must equal the
 * CRC of the bytes sent. A single PUT of a whole file range goes the same way, signed as ali-oss's
 * `putStream` signs it (same headers: length, metadata, content type from the job or the key's
 * extension), instead of through urllib and a stream pipeline: most of a small job's cost in ali-oss.
 * Any other body, and every other call, goes to `inner`.
 */
export class DirectPartStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    private readonly opts: AliOssStoreOptions,
  ) {}

  async uploadPart(key: string, uploadId: string, partNumber: number, size: number, body: () => Readable): Promise<UploadedPart> {
    const first = body();
    if (!(first instanceof FileRange) || first.end - first.start !== size) {
      let handed = false;
      return this.inner.uploadPart(key, uploadId, partNumber, size, () => (handed ? body() : ((handed = true), first)));
    }
    first.destroy();
    return withCredential(this.opts.credentials, async (c) => {
      try {
        const req: PutRequest = { headers: { 'Content-Length': size }, subres: { partNumber, uploadId } };
        const sent = await this.send(this.oss(c), `part ${partNumber}`, key, req, first, true);
        return { partNumber, etag: String(sent.headers.etag), crc64: sent.crc64, size };
      } catch (err) {
        throw mapOssError(err);
      }
    });
  }

  async put(key: string, size: number, body: () => Readable, opts: { contentType?: string; meta?: Record<string, string> } = {}): Promise<ObjectInfo> {
    const first = body();
    if (!(first instanceof FileRange) || first.end - first.start !== size) {
      let handed = false;
      return this.inner.put(key, size, () => (handed ? body() : ((handed = true), first)), opts);
    }
    first.destroy();
    return withCredential(this.opts.credentials, async (c) => {
      try {
        // What ali-oss's putStream builds: Content-Length, x-oss-meta-*, the content type (createRequest
        // takes it from `mime`, else from the key's extension).
        const headers: Record<string, string | number> = { 'Content-Length': size };
        for (const [k, v] of Object.entries(opts.meta ?? {})) headers[`x-oss-meta-${k}`] = v;
        const sent = await this.send(this.oss(c), 'object', key, { headers, mime: opts.contentType }, first, false);
        return { size, etag: sent.headers.etag as string, crc64: sent.crc64 };
      } catch (err) {
        throw mapOssError(err);
      }
    });
  }

  initiate: ObjectStore['initiate'] = (key, opts) => this.inner.initiate(key, opts);
  listParts: ObjectStore['listParts'] = (key, uploadId) => this.inner.listParts(key, uploadId);
  complete: ObjectStore['complete'] = (key, uploadId, parts) => this.inner.complete(key, uploadId, parts);
  abort: ObjectStore['abort'] = (key, uploadId) => this.inner.abort(key, uploadId);
  head: ObjectStore['head'] = (key) => this.inner.head(key);

  /**
   * Sends `range` as the body of the PUT of `key` that `req` describes (an UploadPart or a
   * PutObject), signed as ali-oss signs it: 200 (with an ETag when `requireEtag`) and OSS's CRC-64
   * equal to ours, or an error. `what` names the body in errors.
   */
  private async send(
    oss: OSS,
    what: string,
    key: string,
    req: PutRequest,
    range: FileRange,
    requireEtag: boolean,
  ): Promise<{ headers: http.IncomingHttpHeaders; crc64: string }> {
    const internals = oss as unknown as OssInternals;
    const request = signedRequest(oss, key, req);
    const timeoutMs = this.opts.timeoutMs ?? 60_000;
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`OSS ${what === 'object' ? 'PutObject' : 'UploadPart'}: no progress in ${timeoutMs} ms`)));
    const answer = answerOf(request);
    const ring = new ChunkRing();
    answer.then(
      () => ring.fail(ANSWERED_EARLY),
      (err: unknown) => ring.fail(err),
    );
    const crc = new Crc64();
    let sentAll = false;
    try {
      await writeRange(request, range, ring, crc, what);
      request.end();
      sentAll = true;
    } catch (err) {
      if (err !== ANSWERED_EARLY) {
        request.destroy(err as Error);
        await answer.catch(() => {});
        throw err;
      }
    } finally {
      ring.close();
    }
    const res = await answer;
    // A body cut short leaves the connection mid-request: it must not go back to the agent.
    if (!sentAll) request.destroy();
    if (res.status !== 200) throw await internals.requestError(res);
    if (!sentAll || (requireEtag && !res.headers.etag)) throw unconfirmed(what, sentAll ? 'without an ETag' : 'before the whole body was sent');
    const got = res.headers['x-oss-hash-crc64ecma'] as string | undefined;
    const sent = crc.digestString();
    if (got === undefined) throw new AppError('CRC_MISSING', `${what}: OSS sent no x-oss-hash-crc64ecma`, { status: 502, retryable: true });
    if (got !== sent) throw new AppError('CRC_MISMATCH', `${what}: OSS computed CRC-64 ${got}, we sent ${sent}`, { status: 502, retryable: true });
    return { headers: res.headers, crc64: sent };
  }

  /** The ali-oss client AliOssStore uses for the same configuration and credential. */
  private oss(c: Credential): OSS {
    return sharedAliOssClient(this.opts, c);
  }
}

/**
 * The PUT of `key` as ali-oss's createRequest would sign it: by OssPutSigner (the same request
 * for a fraction of the CPU), or by ali-oss itself for client options the signer leaves to it.
 */
function signedRequest(oss: OSS, key: string, req: PutRequest): http.ClientRequest {
  const signer = ossPutSigner(oss);
  if (signer) {
    const s = signer.sign(key, req);
    return (s.protocol === 'https:' ? https : http).request({ ...s, method: 'PUT', agent: agents[s.protocol] });
  }
  const params = (oss as unknown as OssInternals)._objectRequestParams('PUT', key, { headers: req.headers, subres: req.subres ?? {} });
  const signed = createRequest.call(oss, { ...params, mime: req.mime });
  const url = new URL(signed.url);
  return (url.protocol === 'https:' ? https : http).request(url, {
    method: 'PUT',
    headers: signed.params.headers,
    agent: agents[url.protocol as 'http:' | 'https:'],
  });
}

/** OSS answered 200 to a body it cannot have taken whole, or without confirming it. */
function unconfirmed(what: string, how: string): AppError {
  return new AppError('PART_UNCONFIRMED', `${what}: OSS answered 200 ${how}`, { status: 502, retryable: true });
}

/** The response, read whole (OSS answers UploadPart with headers and at most a small XML error). */
function answerOf(request: http.ClientRequest): Promise<{ status: number; headers: http.IncomingHttpHeaders; data: Buffer }> {
  return new Promise((resolve, reject) => {
    let responded = false;
    request.on('error', reject);
    // Settles the answer whatever ends the request; a promise settles once, so the first cause wins.
    request.once('close', () => responded || reject(new Error('OSS UploadPart: the connection closed before an answer')));
    request.once('response', (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.once('close', () => res.complete || reject(new Error('OSS UploadPart: the answer was cut short')));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, data: Buffer.concat(chunks) }));
    });
  });
}

/** Largest range read synchronously (a small job's whole file): larger ones, parts of big files, are read in the thread pool. */
export const SYNC_READ_MAX_BYTES = 1024 * 1024;
/** A synchronous read slower than this (a cold or remote disk)... */
const SLOW_SYNC_READ_MS = 2;
/**
 * ...this many times in a row sends this process's reads to the thread pool. One slow read alone is
 * the process losing its core mid-read on a busy machine: bench:jobs saw one every 60–850 reads of
 * 128 KiB from the page cache (2.2–5.7 ms each, between reads of microseconds), and with one slow
 * read enough every worker had moved its reads to the thread pool within its first second. A slow
 * disk makes every read slow: three of them hold the event loop once, then not for a minute.
 */
const SLOW_SYNC_READS_IN_A_ROW = 3;
/** ...for this long. */
const ASYNC_AFTER_SLOW_MS = 60_000;
let asyncReadsUntil = 0;
let slowSyncReads = 0;

/**
 * Whether `range` is read synchronously: a small one, while synchronous reads have been fast. A
 * read from the page cache takes microseconds, while a thread-pool read costs a hand-off and an
 * event-loop wake-up (~8% of a worker's CPU per 256 KiB job, bench:jobs); a slow disk must not
 * hold the event loop (lock renewals, other jobs' sockets), so slow reads turn them off a while.
 */
function readsSync(range: FileRange): boolean {
  return range.end - range.start <= SYNC_READ_MAX_BYTES && syncReadsOn();
}

/**
 * Notes how long a synchronous read took (`ms`); after SLOW_SYNC_READS_IN_A_ROW slow ones in a row,
 * reads go to the thread pool for ASYNC_AFTER_SLOW_MS from `now`. Whether they do is `syncReadsOn`.
 */
export function noteSyncRead(ms: number, now = Date.now()): void {
  if (ms <= SLOW_SYNC_READ_MS) {
    slowSyncReads = 0;
    return;
  }
  if (++slowSyncReads < SLOW_SYNC_READS_IN_A_ROW) return;
  slowSyncReads = 0;
  asyncReadsUntil = now + ASYNC_AFTER_SLOW_MS;
}

/** Whether a small range is read synchronously at `now` (false for a while after slow reads). */
export function syncReadsOn(now = Date.now()): boolean {
  return now >= asyncReadsUntil;
}

/** Test hook: forget slow reads seen earlier (`slow`: pretend reads were just found slow). */
export function resetSyncReads(slow = false): void {
  slowSyncReads = 0;
  asyncReadsUntil = slow ? Date.now() + ASYNC_AFTER_SLOW_MS : 0;
}

/** `readSync`, timed (see noteSyncRead). */
function readNowAt(fd: number, buf: Buffer, length: number, position: number): number {
  const t0 = performance.now();
  const n = readSync(fd, buf, 0, length, position);
  noteSyncRead(performance.now() - t0);
  return n;
}

/** Reads the range into the ring's buffers and writes each to the request as soon as it is read and CRC'd. */
async function writeRange(request: http.ClientRequest, range: FileRange, ring: ChunkRing, crc: Crc64, what: string): Promise<void> {
  // Opened and closed synchronously, as FileRange does (microseconds); a small range is read so too
  // (see readsSync, asked per read: slow ones send the rest of the range to the thread pool).
  const fd = openSync(range.path, 'r');
  try {
    for (let pos = range.start; pos < range.end; ) {
      const buf = await ring.acquire();
      const length = Math.min(buf.length, range.end - pos);
      const bytesRead = readsSync(range) ? readNowAt(fd, buf, length, pos) : await readAt(fd, buf, length, pos);
      if (bytesRead === 0) {
        const size = range.end - range.start;
        throw new AppError('SOURCE_SHORT', `${what}: read ${pos - range.start} of ${size} bytes`, { status: 500, retryable: true });
      }
      const chunk = bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      crc.update(chunk);
      request.write(chunk, (err) => {
        if (!err) ring.release(buf);
      });
      pos += bytesRead;
    }
  } finally {
    closeSync(fd);
  }
}

/** `length` bytes of `fd` at `position` into the start of `buf`: the count read (0 at the end of the file). */
function readAt(fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, 0, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}
