import type { IncomingMessage, ServerResponse } from 'node:http';
import { CloudError } from '../errors.js';
import type { OssRequest } from './addressing.js';
import { sendXml } from './reply.js';
import type { ObjectMeta, OssStore } from './store.js';
import { toXml } from './xml.js';

/** The headers HeadObject and GetObject describe an object with. */
export function objectHeaders(meta: ObjectMeta): Record<string, string> {
  const h: Record<string, string> = {
    etag: meta.etag,
    'x-oss-hash-crc64ecma': meta.crc64,
    'content-type': meta.contentType,
    'last-modified': meta.lastModified,
    'x-oss-object-type': meta.objectType,
    'x-oss-storage-class': 'Standard',
    'accept-ranges': 'bytes',
  };
  for (const [k, v] of Object.entries(meta.userMeta)) h[`x-oss-meta-${k}`] = v;
  return h;
}

export function requireParam(r: OssRequest, name: string): string {
  const v = r.params.get(name);
  if (!v) throw new CloudError(400, 'InvalidArgument', `Missing or empty ${name}.`, { ArgumentName: name });
  return v;
}

/** GetObject, with a single `bytes=a-b` Range. */
export async function getObject(req: IncomingMessage, res: ServerResponse, r: OssRequest, store: OssStore): Promise<void> {
  const meta = await store.headObject(r.bucket!, r.key!);
  const range = parseRange(req.headers.range, meta.size);
  const headers = objectHeaders(meta);
  if (range) {
    res.writeHead(206, { ...headers, 'content-length': range.end - range.start + 1, 'content-range': `bytes ${range.start}-${range.end}/${meta.size}` });
  } else {
    res.writeHead(200, { ...headers, 'content-length': meta.size });
  }
  if (meta.size === 0) {
    res.end();
    return;
  }
  const stream = store.readObject(r.bucket!, r.key!, range);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

/**
 * A single `bytes=a-b` range. Like OSS, a syntactically invalid range is ignored (whole object);
 * one that starts past the end is 416 InvalidRange.
 */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return undefined;
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) {
    throw new CloudError(416, 'InvalidRange', 'The requested range cannot be satisfied.', { RangeRequested: header, ActualObjectSize: String(size) });
  }
  return { start, end };
}

/** ListParts, paged by `max-parts` and `part-number-marker`. */
export async function listParts(res: ServerResponse, r: OssRequest, store: OssStore): Promise<void> {
  const uploadId = requireParam(r, 'uploadId');
  const all = await store.listParts(r.bucket!, r.key!, uploadId);
  const maxParts = Math.min(Number(r.params.get('max-parts') ?? 1000) || 1000, 1000);
  const marker = Number(r.params.get('part-number-marker') ?? 0) || 0;
  const after = all.filter((p) => p.partNumber > marker);
  const page = after.slice(0, maxParts);
  const truncated = after.length > page.length;
  sendXml(
    res,
    200,
    toXml('ListPartsResult', {
      Bucket: r.bucket!,
      Key: r.key!,
      UploadId: uploadId,
      PartNumberMarker: marker,
      NextPartNumberMarker: page.length ? page[page.length - 1].partNumber : marker,
      MaxParts: maxParts,
      IsTruncated: truncated,
      Part: page.map((p) => ({
        PartNumber: p.partNumber,
        LastModified: p.lastModified,
        ETag: p.etag,
        HashCrc64ecma: p.crc64,
        Size: p.size,
      })),
    }),
  );
}
