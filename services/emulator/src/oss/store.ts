import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Crc64, crc64CombineAll } from '@vod-ingest/shared';
import { CloudError } from '../errors.js';

/** What HeadObject tells about an object. */
export interface ObjectMeta {
  bucket: string;
  key: string;
  size: number;
  /** Quoted upper-case hex, as OSS sends it (`"ABC..."` or `"ABC...-3"` for multipart). */
  etag: string;
  crc64: string;
  contentType: string;
  lastModified: string;
  objectType: 'Normal' | 'Multipart';
  userMeta: Record<string, string>;
}

export interface PartMeta {
  partNumber: number;
  etag: string;
  crc64: string;
  size: number;
  lastModified: string;
}

interface UploadMeta {
  uploadId: string;
  bucket: string;
  key: string;
  initiated: string;
  contentType: string;
  userMeta: Record<string, string>;
}

/** Every part but the last must be at least this big (OSS rule). */
export const MIN_PART_SIZE = 100 * 1024;
const MAX_PART_NUMBER = 10_000;

/** Hashes a stream while it passes through: MD5 and CRC-64, and counts bytes. */
class Digester extends Transform {
  readonly md5 = createHash('md5');
  readonly crc = new Crc64();
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.md5.update(chunk);
    this.crc.update(chunk);
    cb(null, chunk);
  }
}

/**
 * Objects and multipart uploads on disk. Bodies are streamed to a temporary file while MD5 and
 * CRC-64 are computed, then renamed into place, so memory stays flat whatever the object size and
 * a half-received body never becomes visible.
 */
export class OssStore {
  /** UploadParts that replaced a part already stored (a client re-sending a finished part). */
  partsReplaced = 0;

  constructor(
    private readonly root: string,
    private readonly buckets: Set<string>,
  ) {}

  async init(): Promise<void> {
    await mkdir(path.join(this.root, 'tmp'), { recursive: true });
    await mkdir(path.join(this.root, 'uploads'), { recursive: true });
    for (const b of this.buckets) await mkdir(this.bucketDir(b), { recursive: true });
  }

  hasBucket(bucket: string): boolean {
    return this.buckets.has(bucket);
  }

  private bucketDir(bucket: string): string {
    return path.join(this.root, 'buckets', bucket);
  }

  private objectPath(bucket: string, key: string): string {
    const id = createHash('sha256').update(key).digest('hex');
    return path.join(this.bucketDir(bucket), id);
  }

  private uploadDir(uploadId: string): string {
    if (!/^[0-9A-F]{32}$/.test(uploadId)) throw noSuchUpload();
    return path.join(this.root, 'uploads', uploadId);
  }

  private tmpPath(): string {
    return path.join(this.root, 'tmp', randomBytes(12).toString('hex'));
  }

  private requireBucket(bucket: string): void {
    if (!this.buckets.has(bucket)) throw new CloudError(404, 'NoSuchBucket', 'The specified bucket does not exist.', { BucketName: bucket });
  }

  /** Streams `body` into a temp file; returns the temp path and digests. Removes the file on failure. */
  private async receive(body: Readable, expectedMd5?: string): Promise<{ tmp: string; size: number; md5: Buffer; crc: string }> {
    const tmp = this.tmpPath();
    const digester = new Digester();
    try {
      await pipeline(body, digester, createWriteStream(tmp));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const md5 = digester.md5.digest();
    if (expectedMd5 !== undefined && md5.toString('base64') !== expectedMd5) {
      await rm(tmp, { force: true });
      throw new CloudError(400, 'InvalidDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    return { tmp, size: digester.crc.length, md5, crc: digester.crc.digestString() };
  }

  async putObject(
    bucket: string,
    key: string,
    body: Readable,
    opts: { contentType: string; userMeta: Record<string, string>; contentMd5?: string },
  ): Promise<ObjectMeta> {
    this.requireBucket(bucket);
    const got = await this.receive(body, opts.contentMd5);
    const meta: ObjectMeta = {
      bucket,
      key,
      size: got.size,
      etag: `"${got.md5.toString('hex').toUpperCase()}"`,
      crc64: got.crc,
      contentType: opts.contentType,
      lastModified: new Date().toUTCString(),
      objectType: 'Normal',
      userMeta: opts.userMeta,
    };
    await this.commitObject(got.tmp, meta);
    return meta;
  }

  private async commitObject(tmpData: string, meta: ObjectMeta): Promise<void> {
    const target = this.objectPath(meta.bucket, meta.key);
    const tmpMeta = this.tmpPath();
    await writeFile(tmpMeta, JSON.stringify(meta));
    await rename(tmpData, `${target}.data`);
    await rename(tmpMeta, `${target}.json`);
  }

  async headObject(bucket: string, key: string): Promise<ObjectMeta> {
    this.requireBucket(bucket);
    try {
      return JSON.parse(await readFile(`${this.objectPath(bucket, key)}.json`, 'utf8')) as ObjectMeta;
    } catch {
      throw new CloudError(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
    }
  }

  /** The object's bytes from `start` to `end` inclusive (whole object when omitted). */
  readObject(bucket: string, key: string, range?: { start: number; end: number }): Readable {
    return createReadStream(`${this.objectPath(bucket, key)}.data`, range ? { start: range.start, end: range.end } : {});
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    this.requireBucket(bucket);
    const p = this.objectPath(bucket, key);
    await rm(`${p}.json`, { force: true });
    await rm(`${p}.data`, { force: true });
  }

  async listObjects(bucket: string): Promise<ObjectMeta[]> {
    this.requireBucket(bucket);
    const files = (await readdir(this.bucketDir(bucket))).filter((f) => f.endsWith('.json'));
    const metas = await Promise.all(files.map(async (f) => JSON.parse(await readFile(path.join(this.bucketDir(bucket), f), 'utf8')) as ObjectMeta));
    return metas.sort((a, b) => a.key.localeCompare(b.key));
  }

  async initiateUpload(bucket: string, key: string, contentType: string, userMeta: Record<string, string>): Promise<string> {
    this.requireBucket(bucket);
    const uploadId = randomBytes(16).toString('hex').toUpperCase();
    const dir = this.uploadDir(uploadId);
    await mkdir(dir, { recursive: true });
    const meta: UploadMeta = { uploadId, bucket, key, initiated: new Date().toISOString(), contentType, userMeta };
    await writeFile(path.join(dir, 'upload.json'), JSON.stringify(meta));
    return uploadId;
  }

  private async upload(bucket: string, key: string, uploadId: string): Promise<UploadMeta> {
    let meta: UploadMeta;
    try {
      meta = JSON.parse(await readFile(path.join(this.uploadDir(uploadId), 'upload.json'), 'utf8')) as UploadMeta;
    } catch {
      throw noSuchUpload();
    }
    if (meta.bucket !== bucket || meta.key !== key) throw noSuchUpload();
    return meta;
  }

  async uploadPart(bucket: string, key: string, uploadId: string, partNumber: number, body: Readable, contentMd5?: string): Promise<PartMeta> {
    this.requireBucket(bucket);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw new CloudError(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.', {
        ArgumentName: 'partNumber',
      });
    }
    await this.upload(bucket, key, uploadId);
    const got = await this.receive(body, contentMd5);
    const part: PartMeta = {
      partNumber,
      etag: `"${got.md5.toString('hex').toUpperCase()}"`,
      crc64: got.crc,
      size: got.size,
      lastModified: new Date().toISOString(),
    };
    const dir = this.uploadDir(uploadId);
    const tmpMeta = this.tmpPath();
    await writeFile(tmpMeta, JSON.stringify(part));
    try {
      if (existsSync(path.join(dir, `${partNumber}.json`))) this.partsReplaced++;
      await rename(got.tmp, path.join(dir, `${partNumber}.data`));
      await rename(tmpMeta, path.join(dir, `${partNumber}.json`));
    } catch {
      // Aborted or completed while this part was arriving.
      await rm(got.tmp, { force: true });
      await rm(tmpMeta, { force: true });
      throw noSuchUpload();
    }
    return part;
  }

  async listParts(bucket: string, key: string, uploadId: string): Promise<PartMeta[]> {
    this.requireBucket(bucket);
    await this.upload(bucket, key, uploadId);
    return this.partsOf(uploadId);
  }

  private async partsOf(uploadId: string): Promise<PartMeta[]> {
    const dir = this.uploadDir(uploadId);
    const names = (await readdir(dir)).filter((f) => /^\d+\.json$/.test(f));
    const parts = await Promise.all(names.map(async (f) => JSON.parse(await readFile(path.join(dir, f), 'utf8')) as PartMeta));
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async abortUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    this.requireBucket(bucket);
    await this.upload(bucket, key, uploadId);
    await rm(this.uploadDir(uploadId), { recursive: true, force: true });
  }

  /** Uploads not yet completed or aborted (for inspection: "no orphan parts"). */
  async listUploads(): Promise<Array<UploadMeta & { parts: number }>> {
    const ids = await readdir(path.join(this.root, 'uploads'));
    const out: Array<UploadMeta & { parts: number }> = [];
    for (const id of ids) {
      try {
        const meta = JSON.parse(await readFile(path.join(this.root, 'uploads', id, 'upload.json'), 'utf8')) as UploadMeta;
        out.push({ ...meta, parts: (await this.partsOf(id)).length });
      } catch {
        // being removed right now
      }
    }
    return out;
  }

  /**
   * Checks the client's part list against what was received (OSS's rules and error codes),
   * concatenates the parts into the object by streaming, and derives the object's CRC-64 from the
   * parts' CRCs without reading the bytes again.
   */
  async completeUpload(bucket: string, key: string, uploadId: string, requested: Array<{ partNumber: number; etag: string }>): Promise<ObjectMeta> {
    this.requireBucket(bucket);
    const upload = await this.upload(bucket, key, uploadId);
    const stored = new Map((await this.partsOf(uploadId)).map((p) => [p.partNumber, p]));
    if (requested.length === 0)
      throw new CloudError(400, 'MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
    const chosen: PartMeta[] = [];
    let last = 0;
    for (const r of requested) {
      if (r.partNumber <= last)
        throw new CloudError(400, 'InvalidPartOrder', 'The list of parts was not in ascending order. Parts list must be specified in order by part number.');
      last = r.partNumber;
      const part = stored.get(r.partNumber);
      if (!part || normalizeEtag(part.etag) !== normalizeEtag(r.etag)) {
        throw new CloudError(
          400,
          'InvalidPart',
          "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag.",
          {
            PartNumber: String(r.partNumber),
            ETag: r.etag,
          },
        );
      }
      chosen.push(part);
    }
    chosen.forEach((p, i) => {
      if (i < chosen.length - 1 && p.size < MIN_PART_SIZE) {
        throw new CloudError(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size.', {
          MinSizeAllowed: String(MIN_PART_SIZE),
          ProposedSize: String(p.size),
          PartNumber: String(p.partNumber),
        });
      }
    });

    const dir = this.uploadDir(uploadId);
    const tmp = this.tmpPath();
    try {
      await pipeline(concatFiles(chosen.map((p) => path.join(dir, `${p.partNumber}.data`))), createWriteStream(tmp));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const md5s = Buffer.concat(chosen.map((p) => Buffer.from(normalizeEtag(p.etag), 'hex')));
    const crc = crc64CombineAll(chosen.map((p) => ({ crc: BigInt(p.crc64), size: p.size })));
    const meta: ObjectMeta = {
      bucket,
      key,
      size: chosen.reduce((n, p) => n + p.size, 0),
      etag: `"${createHash('md5').update(md5s).digest('hex').toUpperCase()}-${chosen.length}"`,
      crc64: crc.toString(10),
      contentType: upload.contentType,
      lastModified: new Date().toUTCString(),
      objectType: 'Multipart',
      userMeta: upload.userMeta,
    };
    await this.commitObject(tmp, meta);
    await rm(dir, { recursive: true, force: true });
    return meta;
  }
}

/** The files' bytes one after another, as one stream (backpressure from the consumer applies). */
async function* concatFiles(files: string[]): AsyncGenerator<Buffer> {
  for (const f of files) {
    for await (const chunk of createReadStream(f, { highWaterMark: 1024 * 1024 })) yield chunk as Buffer;
  }
}

function noSuchUpload(): CloudError {
  return new CloudError(
    404,
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  );
}

function normalizeEtag(etag: string): string {
  return etag.replace(/"/g, '').trim().toUpperCase();
}
