import { closeSync, openSync, read } from 'node:fs';
import { Readable } from 'node:stream';

const FALLBACK_CHUNK = 256 * 1024;

/**
 * Bytes `start` to `end` (exclusive) of a file, as a Readable for any consumer, and with the range
 * readable as such: `DirectPartStore` reads it into pooled buffers instead of streaming it. The
 * file is opened on the first `_read`, so a FileRange that is never read holds no descriptor.
 * Opening and closing are synchronous (microseconds: the api and the worker resolved the path just
 * before); the reads stay asynchronous. Each thread-pool round trip saved is ~25 µs of CPU, a
 * tenth of what a small job's file costs the worker.
 */
export class FileRange extends Readable {
  private fd?: number;
  private pos: number;

  constructor(
    readonly path: string,
    readonly start: number,
    readonly end: number,
  ) {
    super({ highWaterMark: FALLBACK_CHUNK });
    this.pos = start;
  }

  override _read(size: number): void {
    const fd = this.fd;
    if (fd === undefined) {
      try {
        this.fd = openSync(this.path, 'r');
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      this._read(size);
      return;
    }
    const want = Math.min(FALLBACK_CHUNK, this.end - this.pos);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buf = Buffer.allocUnsafe(want);
    read(fd, buf, 0, want, this.pos, (err, n) => {
      if (err) return this.destroy(err);
      // A file cut short ends the stream early; the store sees fewer bytes than the part's size.
      if (n === 0) return this.push(null);
      this.pos += n;
      this.push(n === want ? buf : buf.subarray(0, n));
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.closeFd();
    cb(err);
  }

  private closeFd(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // nothing to do: the descriptor is gone either way
    }
  }
}
