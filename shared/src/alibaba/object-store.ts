import { createRequire } from 'node:module';
import { Transform, type Readable } from 'node:stream';
import OSS from 'ali-oss';
import { AppError, isProgrammingError } from '../errors.js';
import { Crc64, crc64CombineAll } from '../crc64.js';
import { withCredential } from './credential-retry.js';
import type { Credential, CredentialSource } from './credential.js';
import { AlibabaError, localRequestError } from './pop-client.js';

/** One uploaded part, as OSS confirmed it. */
export interface UploadedPart {
  partNumber: number;
  /** Quoted, as OSS sends it. */
  etag: string;
  /** CRC-64/ECMA as an unsigned decimal string. */
  crc64: string;
  size: number;
}

export interface ObjectInfo {
  size: number;
  etag: string;
  crc64: string;
  contentType?: string;
}

/**
 * The OSS calls vod-ingest makes. Every body is checked against the CRC-64 OSS computed
 * (`x-oss-hash-crc64ecma`): a mismatch is a retryable `CRC_MISMATCH`, never a success.
 */
export interface ObjectStore {
  initiate(key: string, opts?: { contentType?: string; meta?: Record<string, string> }): Promise<string>;
  /** `body` is called again for each attempt, so a part can be re-read from its source. */
  uploadPart(key: string, uploadId: string, partNumber: number, size: number, body: () => Readable): Promise<UploadedPart>;
  /** Every part OSS holds for the upload (all pages). `NoSuchUpload` when it is gone. */
  listParts(key: string, uploadId: string): Promise<UploadedPart[]>;
  /** Completes and checks the object's CRC against the parts' combined CRC. */
  complete(key: string, uploadId: string, parts: UploadedPart[]): Promise<ObjectInfo>;
  abort(key: string, uploadId: string): Promise<void>;
  /** A single PUT, for bodies below one part. */
  put(key: string, size: number, body: () => Readable, opts?: { contentType?: string; meta?: Record<string, string> }): Promise<ObjectInfo>;
  /** Undefined when there is no such object. */
  head(key: string): Promise<ObjectInfo | undefined>;
}

export interface AliOssStoreOptions {
  /** `http://localhost:9100` (emulator, path-style) or `https://oss-cn-shanghai.aliyuncs.com`. */
  endpoint: string;
  bucket: string;
  region: string;
  credentials: CredentialSource;
  /** Per-request timeout (ms). Defaults to 60 s. */
  timeoutMs?: number;
  /**
   * Path-style requests (`http://host/bucket/key`, ali-oss `sldEnable`) instead of virtual-host
   * style (`http://bucket.host/key`). Needed for the emulator under a name that is not localhost
   * (`http://emulator:9100` in docker-compose), where `bucket.emulator` does not resolve.
   * Defaults to true for `http://localhost…` and `http://127.…` endpoints, false otherwise.
   */
  pathStyle?: boolean;
}

/** Maps an ali-oss error once, here: Alibaba's `code` and `requestId` kept; network errors retryable, programming errors not. */
export function mapOssError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { code?: string; status?: number; message?: string; requestId?: string; name?: string };
  if (typeof e?.status === 'number' && e.status > 0 && e.code) {
    return new AlibabaError(e.code, e.message ?? e.code, e.status, { requestId: e.requestId, cause: err });
  }
  if (isProgrammingError(err)) return localRequestError(err, 'The OSS request');
  return new AlibabaError('NETWORK_ERROR', `OSS request failed: ${e?.message ?? String(err)}`, 0, { cause: err });
}

/** `source` piped through a fresh meter; a read error of the source fails the request body too. */
function metered(source: Readable): { meter: CrcMeter; stream: Readable } {
  const meter = new CrcMeter();
  source.once('error', (err) => meter.destroy(err));
  return { meter, stream: source.pipe(meter) };
}

/** Counts and CRCs the bytes of a request body as they go out. */
class CrcMeter extends Transform {
  readonly crc = new Crc64();
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.crc.update(chunk);
    cb(null, chunk);
  }
}

function checkCrc(what: string, expected: string, got: string | undefined): void {
  if (got !== undefined && got !== expected) {
    throw new AppError('CRC_MISMATCH', `${what}: OSS computed CRC-64 ${got}, we sent ${expected}`, { status: 502, retryable: true });
  }
  if (got === undefined) throw new AppError('CRC_MISSING', `${what}: OSS sent no x-oss-hash-crc64ecma`, { status: 502, retryable: true });
}

/**
 * ali-oss's own request builder and signer (`lib/common/utils/createRequest.js`, called with an
 * ali-oss client as `this`), for a caller that sends the request body itself.
 */
export const aliOssCreateRequest = (
  createRequire(import.meta.url)('ali-oss/lib/common/utils/createRequest.js') as { createRequest: (this: OSS, params: object) => unknown }
).createRequest;

/** An ali-oss client for `opts`' endpoint and bucket with credential `c`: the one configuration every OSS caller of ours uses. */
function createAliOssClient(opts: AliOssStoreOptions, c: Credential): OSS {
  const pathStyle = opts.pathStyle ?? /^http:\/\/(localhost|127\.)/.test(opts.endpoint);
  return new OSS({
    endpoint: opts.endpoint,
    sldEnable: pathStyle,
    region: opts.region.startsWith('oss-') ? opts.region : `oss-${opts.region}`,
    bucket: opts.bucket,
    accessKeyId: c.accessKeyId,
    accessKeySecret: c.accessKeySecret,
    stsToken: c.securityToken,
    // We replace credentials ourselves (CredentialSource). Without a refreshSTSToken function
    // ali-oss never uses this interval; it only stops its console warning on every client.
    refreshSTSTokenInterval: 3_600_000,
    timeout: opts.timeoutMs ?? 60_000,
    secure: opts.endpoint.startsWith('https:'),
  } as OSS.Options);
}

/** Clients kept by `sharedAliOssClient`, most recently used last. */
const sharedClients = new Map<string, OSS>();
const SHARED_CLIENTS_MAX = 64;

/**
 * The ali-oss client for `opts` and credential `c`, shared by every caller with the same
 * configuration and credential (a worker's jobs of one tenant and bucket), as one would keep one
 * client per process: building one per job cost a worker more than its CRC of a small file. An
 * ali-oss client holds no per-request state. The `SHARED_CLIENTS_MAX` most recently used are kept.
 */
export function sharedAliOssClient(opts: AliOssStoreOptions, c: Credential): OSS {
  const key = [opts.endpoint, opts.pathStyle, opts.region, opts.bucket, opts.timeoutMs, c.accessKeyId, c.accessKeySecret, c.securityToken].join('\n');
  let client = sharedClients.get(key);
  if (client) {
    sharedClients.delete(key);
  } else {
    client = createAliOssClient(opts, c);
    if (sharedClients.size >= SHARED_CLIENTS_MAX) sharedClients.delete(sharedClients.keys().next().value as string);
  }
  sharedClients.set(key, client);
  return client;
}

/** `ObjectStore` over ali-oss, with the shared client of its configuration and the call's credential. */
export class AliOssStore implements ObjectStore {
  constructor(private readonly opts: AliOssStoreOptions) {}

  private oss(c: Credential): OSS {
    return sharedAliOssClient(this.opts, c);
  }

  /** Runs an SDK call with the current credential; a refused credential is replaced once. */
  private run<T>(call: (oss: OSS) => Promise<T>): Promise<T> {
    return withCredential(this.opts.credentials, async (c) => {
      try {
        return await call(this.oss(c));
      } catch (err) {
        throw mapOssError(err);
      }
    });
  }

  async initiate(key: string, opts: { contentType?: string; meta?: Record<string, string> } = {}): Promise<string> {
    const res = await this.run((oss) => oss.initMultipartUpload(key, { mime: opts.contentType, meta: opts.meta } as never));
    return res.uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, size: number, body: () => Readable): Promise<UploadedPart> {
    let meter!: CrcMeter;
    const res = await this.run((oss) => {
      const m = metered(body());
      meter = m.meter;
      const stream = m.stream;
      // `_uploadPart` is the streaming part upload `multipartUpload` itself uses (public `uploadPart` takes only a file path).
      return (
        oss as unknown as {
          _uploadPart(
            n: string,
            u: string,
            p: number,
            d: { stream: Readable; size: number },
          ): Promise<{ etag: string; res: { headers: Record<string, string> } }>;
        }
      )._uploadPart(key, uploadId, partNumber, { stream, size });
    });
    const crc = meter.crc.digestString();
    if (meter.crc.length !== size)
      throw new AppError('SOURCE_SHORT', `part ${partNumber}: read ${meter.crc.length} of ${size} bytes`, { status: 500, retryable: true });
    checkCrc(`part ${partNumber}`, crc, res.res.headers['x-oss-hash-crc64ecma']);
    return { partNumber, etag: res.etag, crc64: crc, size };
  }

  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    const out: UploadedPart[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await this.run((oss) => oss.listParts(key, uploadId, { 'max-parts': '1000', ...(marker ? { 'part-number-marker': marker } : {}) } as never));
      // ali-oss hands a lone <Part> back as an object, not a one-element array.
      const parts = ([] as Array<{ PartNumber: string; ETag: string; Size: string; HashCrc64ecma?: string }>).concat((page.parts ?? []) as never);
      for (const p of parts) out.push({ partNumber: Number(p.PartNumber), etag: p.ETag, size: Number(p.Size), crc64: String(p.HashCrc64ecma ?? '') });
      const truncated = String((page as { isTruncated?: unknown }).isTruncated) === 'true';
      if (!truncated) return out;
      marker = String((page as { nextPartNumberMarker?: unknown }).nextPartNumberMarker);
    }
  }

  async complete(key: string, uploadId: string, parts: UploadedPart[]): Promise<ObjectInfo> {
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    const res = await this.run((oss) =>
      oss.completeMultipartUpload(
        key,
        uploadId,
        sorted.map((p) => ({ number: p.partNumber, etag: p.etag })),
      ),
    );
    const expected = crc64CombineAll(sorted.map((p) => ({ crc: BigInt(p.crc64), size: p.size }))).toString();
    const headers = res.res.headers as Record<string, string>;
    checkCrc('object', expected, headers['x-oss-hash-crc64ecma']);
    return { size: sorted.reduce((n, p) => n + p.size, 0), etag: headers.etag, crc64: expected };
  }

  async abort(key: string, uploadId: string): Promise<void> {
    await this.run((oss) => oss.abortMultipartUpload(key, uploadId));
  }

  async put(key: string, size: number, body: () => Readable, opts: { contentType?: string; meta?: Record<string, string> } = {}): Promise<ObjectInfo> {
    let meter!: CrcMeter;
    const res = await this.run((oss) => {
      const m = metered(body());
      meter = m.meter;
      return oss.putStream(key, m.stream, { contentLength: size, mime: opts.contentType, meta: opts.meta } as never);
    });
    const crc = meter.crc.digestString();
    const headers = (res as { res: { headers: Record<string, string> } }).res.headers;
    checkCrc('object', crc, headers['x-oss-hash-crc64ecma']);
    return { size: meter.crc.length, etag: headers.etag, crc64: crc };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const res = await this.run((oss) => oss.head(key));
      const h = res.res.headers as Record<string, string>;
      return { size: Number(h['content-length']), etag: h.etag, crc64: h['x-oss-hash-crc64ecma'], contentType: h['content-type'] };
    } catch (err) {
      if ((err as { code?: string }).code === 'NoSuchKey') return undefined;
      throw err;
    }
  }
}
