/** Size of one pooled read buffer: file reads and socket writes go in pieces of this size. */
export const CHUNK_BYTES = 128 * 1024;
/** Buffers a part may have written but not yet flushed to its socket: its memory bound. */
export const RING_DEPTH = 4;
/** Idle buffers kept for the next part (beyond this they are left to the GC): 3 MiB. */
const POOL_MAX = 24;

const idle: Buffer[] = [];
const RING_CLOSED = new Error('the ring is closed');
let allocated = 0;

function newChunk(): Buffer {
  allocated++;
  return Buffer.allocUnsafeSlow(CHUNK_BYTES);
}

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
  private closed = false;

  constructor(private readonly depth = RING_DEPTH) {}

  /** A buffer to fill; waits while `depth` buffers are still being written. Rejects once `fail` was called. */
  acquire(): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure.err);
    const ready = this.free.pop() ?? (this.out < this.depth ? (idle.pop() ?? newChunk()) : undefined);
    if (ready) {
      this.out++;
      return Promise.resolve(ready);
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** `buf` was written out in full: it may be filled again (after `close`, by the next part). */
  release(buf: Buffer): void {
    if (this.closed) {
      if (idle.length < POOL_MAX) idle.push(buf);
      return;
    }
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

  /** Ends the ring: buffers that came back go to the pool, and so do those whose writes complete later. */
  close(): void {
    this.closed = true;
    // One shared error: nothing waits on a ring that closes after its part (the usual case), and
    // an Error built per part costs a stack trace each time.
    this.fail(RING_CLOSED);
    while (this.free.length > 0 && idle.length < POOL_MAX) idle.push(this.free.pop()!);
    this.free.length = 0;
  }
}

/** Idle buffers in the process-wide pool, and buffers allocated since the process started (for tests). */
export const chunkStats = (): { pooled: number; allocated: number } => ({ pooled: idle.length, allocated });
