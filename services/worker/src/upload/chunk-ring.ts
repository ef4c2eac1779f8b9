/** Size of one pooled read buffer: file reads and socket writes go in pieces of this size. */
export const CHUNK_BYTES = 256 * 1024;
/** Buffers a part may have written but not yet flushed to its socket: its memory bound. */
export const RING_DEPTH = 4;
/** Idle buffers kept for the next part (beyond this they are left to the GC): 8 MiB. */
const POOL_MAX = 32;

const idle: Buffer[] = [];

/**
 * The read buffers of one part upload. A buffer goes back to the ring only when the socket write
 * that carried it has completed; one whose write never completes (the request failed) is never
 * reused, only dropped. Buffers outlive the part in a process-wide pool, so a steady upload
 * allocates nothing per byte.
 */
export class ChunkRing {
  private readonly free: Buffer[] = [];
  private out = 0;
  private waiter?: { resolve: (b: Buffer) => void; reject: (e: unknown) => void };
  private failure?: { err: unknown };

  constructor(private readonly depth = RING_DEPTH) {}

  /** A buffer to fill; waits while `depth` buffers are still being written. Rejects once `fail` was called. */
  acquire(): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure.err);
    const ready = this.free.pop() ?? (this.out < this.depth ? (idle.pop() ?? Buffer.allocUnsafeSlow(CHUNK_BYTES)) : undefined);
    if (ready) {
      this.out++;
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** `buf` was written out in full: it may be filled again. */
  release(buf: Buffer): void {
    const w = this.waiter;
    if (w && !this.failure) {
      this.waiter = undefined;
      w.resolve(buf);
      return;
    }
    this.out--;
    this.free.push(buf);
  }

  /** Ends the part: a waiting or later `acquire` rejects with `err`. */
  fail(err: unknown): void {
    if (this.failure) return;
    this.failure = { err };
    this.waiter?.reject(err);
    this.waiter = undefined;
  }

  /** Hands the buffers that came back to the pool; call once the request is over. */
  close(): void {
    while (this.free.length > 0 && idle.length < POOL_MAX) idle.push(this.free.pop()!);
    this.free.length = 0;
  }
}

/** Idle buffers in the process-wide pool (for tests). */
export const pooledChunks = (): number => idle.length;
