import type OSS from 'ali-oss';
import type { OssCheckpoint } from './checkpoint.js';
import { CliError, EXIT } from './errors.js';
import { type Destination, ossClient } from './oss-destination.js';
import { ProgressBar } from './progress.js';

export interface MultipartSource {
  file: string;
  size: number;
  partSize: number;
  parallel: number;
  contentType?: string;
}

export interface MultipartHooks {
  /** The multipart upload to go on with, from an earlier run. */
  saved?: OssCheckpoint;
  /** Called with every new checkpoint: after the upload is initiated and after each part. */
  save(cp: OssCheckpoint): void;
  stderr: NodeJS.WriteStream;
}

/** Codes meaning "this credential is no longer good": get a newer one and go on. */
const CREDENTIAL_CODES = new Set(['SecurityTokenExpired', 'InvalidAccessKeyId', 'InvalidSecurityToken']);
const MAX_RESTARTS = 5;

/**
 * ali-oss multipartUpload of one file, resumed from `saved` when given (parts listed there are not
 * sent again). A refused credential is replaced through the destination and the upload goes on;
 * a multipart upload that OSS no longer knows starts over.
 */
export async function multipartToOss(d: Destination, src: MultipartSource, hooks: MultipartHooks): Promise<void> {
  let saved = hooks.saved && hooks.saved.name === d.object ? hooks.saved : undefined;
  const partsTotal = (cp: OssCheckpoint | undefined) => Math.max(1, Math.ceil(src.size / (cp?.partSize ?? src.partSize)));
  const doneBytes = (cp: OssCheckpoint) => Math.min(src.size, cp.doneParts.length * cp.partSize);
  const bar = new ProgressBar(hooks.stderr, saved ? doneBytes(saved) : 0);
  for (let restarts = 0; ; restarts++) {
    try {
      await ossClient(d).multipartUpload(d.object, src.file, {
        partSize: saved?.partSize ?? src.partSize,
        parallel: src.parallel,
        ...(saved ? { checkpoint: { ...saved, file: src.file } as unknown as OSS.Checkpoint } : {}),
        ...(src.contentType ? { mime: src.contentType } : {}),
        progress: async (_p: number, cp?: OSS.Checkpoint) => {
          if (!cp) return;
          const { file: _file, ...rest } = cp as unknown as OssCheckpoint & { file: unknown };
          saved = { ...rest, doneParts: [...rest.doneParts] };
          hooks.save(saved);
          bar.update({ bytesUploaded: doneBytes(saved), bytesTotal: src.size, partsUploaded: saved.doneParts.length, partsTotal: partsTotal(saved) });
        },
      } as OSS.MultipartUploadOptions);
      // A file under 100 KiB goes in one put, with no checkpoint to report it.
      if (!saved || saved.doneParts.length < partsTotal(saved))
        bar.update({ bytesUploaded: src.size, bytesTotal: src.size, partsUploaded: partsTotal(saved), partsTotal: partsTotal(saved) });
      bar.done();
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (restarts >= MAX_RESTARTS || !(code && (CREDENTIAL_CODES.has(code) || code === 'NoSuchUpload'))) throw ossError(err);
      if (code === 'NoSuchUpload') {
        hooks.stderr.write('the multipart upload is gone from OSS; starting it again\n');
        saved = undefined;
      } else {
        d.credential = await d.refresh();
      }
    }
  }
}

function ossError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  const e = err as { code?: string; status?: number; message?: string; requestId?: string };
  const id = e.requestId ? ` (request ${e.requestId})` : '';
  return new CliError(`oss: ${e.status ? `${e.status} ` : ''}${e.code ?? 'Error'}: ${(e.message ?? String(err)).split('\n')[0]}${id}`, EXIT.io, e.code);
}
