/**
 * CRC-64/XZ ("CRC-64/ECMA-182" as OSS names it in `x-oss-hash-crc64ecma`): ECMA-182 polynomial,
 * reflected, init and xor-out all ones. Check value of "123456789" is 0x995DC9BBDF1939FA.
 *
 * Buffers of `NATIVE_MIN_BYTES` and more go to the `@vod-ingest/crc64-native` addon (carry-less
 * multiplication, ~15x this JS code) when it is built and passes its check values at load;
 * otherwise, and for short buffers, the JS code below does the work. `useCrc64Native(false)`
 * forces the JS code (tests, benchmarks). `bench/crc64.bench.ts` measures both against MD5.
 *
 * JS code: the 64-bit state is kept as two unsigned 32-bit halves so the hot loop stays in V8's
 * small integer arithmetic (BigInt is ~50x slower); bytes are consumed 8 at a time with eight
 * lookup tables ("slicing-by-8").
 */
import { loadCrc64Native, type Crc64Native } from './crc64.native.js';

export { crc64Combine, crc64CombineAll } from './crc64.combine.js';

const POLY_LO = 0xd7870f42; // reflected ECMA-182 polynomial 0xC96C5795D7870F42
const POLY_HI = 0xc96c5795;

function buildTables(): { lo: Uint32Array[]; hi: Uint32Array[] } {
  const lo: Uint32Array[] = [];
  const hi: Uint32Array[] = [];
  const lo0 = new Uint32Array(256);
  const hi0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let l = n;
    let h = 0;
    for (let k = 0; k < 8; k++) {
      const carry = l & 1;
      l = ((l >>> 1) | ((h & 1) << 31)) >>> 0;
      h = h >>> 1;
      if (carry) {
        l = (l ^ POLY_LO) >>> 0;
        h = (h ^ POLY_HI) >>> 0;
      }
    }
    lo0[n] = l;
    hi0[n] = h;
  }
  lo.push(lo0);
  hi.push(hi0);
  for (let t = 1; t < 8; t++) {
    const pl = lo[t - 1];
    const ph = hi[t - 1];
    const nl = new Uint32Array(256);
    const nh = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      const idx = pl[n] & 0xff;
      nl[n] = (((pl[n] >>> 8) | (ph[n] << 24)) ^ lo0[idx]) >>> 0;
      nh[n] = ((ph[n] >>> 8) ^ hi0[idx]) >>> 0;
    }
    lo.push(nl);
    hi.push(nh);
  }
  return { lo, hi };
}

const TABLES = buildTables();
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const [L0, L1, L2, L3, L4, L5, L6, L7] = TABLES.lo;
const [H0, H1, H2, H3, H4, H5, H6, H7] = TABLES.hi;

let regLo = 0;
let regHi = 0;
const SCRATCH_BYTES = 64 * 1024;
const SCRATCH = new Int32Array(SCRATCH_BYTES / 4);

/**
 * `len` bytes (a multiple of 8) from `start` as little-endian 32-bit words: a view when aligned
 * (as file reads deliver them), else a copy into a scratch buffer.
 */
function wordsOf(buf: Uint8Array, start: number, len: number): Int32Array {
  const offset = buf.byteOffset + start;
  if (LITTLE_ENDIAN && (offset & 3) === 0) return new Int32Array(buf.buffer, offset, len >>> 2);
  const view = new DataView(buf.buffer, offset, len);
  for (let w = 0; w < len >>> 2; w++) SCRATCH[w] = view.getInt32(w * 4, true);
  return SCRATCH.subarray(0, len >>> 2);
}

/** The slicing-by-8 loop over 32-bit words; leaves the register in regLo/regHi (no allocation per call). */
function crcWords(words: Int32Array, lo: number, hi: number): void {
  const n = words.length;
  for (let w = 0; w < n; w += 2) {
    const xl = lo ^ words[w];
    const xh = hi ^ words[w + 1];
    lo =
      L7[xl & 0xff] ^
      L6[(xl >>> 8) & 0xff] ^
      L5[(xl >>> 16) & 0xff] ^
      L4[xl >>> 24] ^
      L3[xh & 0xff] ^
      L2[(xh >>> 8) & 0xff] ^
      L1[(xh >>> 16) & 0xff] ^
      L0[xh >>> 24];
    hi =
      H7[xl & 0xff] ^
      H6[(xl >>> 8) & 0xff] ^
      H5[(xl >>> 16) & 0xff] ^
      H4[xl >>> 24] ^
      H3[xh & 0xff] ^
      H2[(xh >>> 8) & 0xff] ^
      H1[(xh >>> 16) & 0xff] ^
      H0[xh >>> 24];
  }
  regLo = lo;
  regHi = hi;
}

/** The JS code: advances the register (lo, hi) over `buf`, leaving it in regLo/regHi. */
function updateJs(buf: Uint8Array, lo: number, hi: number): void {
  const n = buf.length;
  const end8 = n - (n & 7);
  for (let i = 0; i < end8; i += SCRATCH_BYTES) {
    crcWords(wordsOf(buf, i, Math.min(end8 - i, SCRATCH_BYTES)), lo, hi);
    lo = regLo;
    hi = regHi;
  }
  for (let i = end8; i < n; i++) {
    const idx = (lo ^ buf[i]) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ L0[idx];
    hi = (hi >>> 8) ^ H0[idx];
  }
  regLo = lo >>> 0;
  regHi = hi >>> 0;
}

/** Below this length the JS loop costs less than a call into the addon. */
const NATIVE_MIN_BYTES = 64;
/** The register handed to the addon as [lo, hi], updated in place (no allocation per call). */
const NATIVE_STATE = new Uint32Array(2);
const loaded: Crc64Native | Error = loadCrc64Native((bytes) => {
  updateJs(bytes, 0xffffffff, 0xffffffff);
  return (BigInt(~regHi >>> 0) << 32n) | BigInt(~regLo >>> 0);
});
let native: Crc64Native | null = loaded instanceof Error ? null : loaded;

/** Incremental CRC-64/XZ. `update` as bytes arrive, `digest` at the end (may be called again). */
export class Crc64 {
  // Internal (non-inverted) register halves.
  private lo = 0xffffffff;
  private hi = 0xffffffff;
  /** Number of bytes fed so far. */
  length = 0;

  update(buf: Uint8Array): this {
    if (native !== null && buf.length >= NATIVE_MIN_BYTES) {
      NATIVE_STATE[0] = this.lo;
      NATIVE_STATE[1] = this.hi;
      native.update(NATIVE_STATE, buf);
      this.lo = NATIVE_STATE[0];
      this.hi = NATIVE_STATE[1];
    } else {
      updateJs(buf, this.lo, this.hi);
      this.lo = regLo;
      this.hi = regHi;
    }
    this.length += buf.length;
    return this;
  }

  /** The CRC as an unsigned 64-bit BigInt. */
  digest(): bigint {
    return (BigInt(~this.hi >>> 0) << 32n) | BigInt(~this.lo >>> 0);
  }

  /** The CRC as OSS sends it: an unsigned decimal string. */
  digestString(): string {
    return this.digest().toString(10);
  }
}

/** CRC-64/XZ of one buffer, as an unsigned decimal string (the `x-oss-hash-crc64ecma` form). */
export function crc64(buf: Uint8Array): string {
  return new Crc64().update(buf).digestString();
}

/** Which code computes CRC-64 in this process. */
export interface Crc64Backend {
  /** True when buffers of 64 bytes and more go to the addon. */
  native: boolean;
  /** "pclmul" or "pmull" (carry-less multiply), "table" (the addon's portable C), or "js". */
  kernel: string;
  /** Why the addon is not in use, when it is not. */
  reason?: string;
}

export function crc64Backend(): Crc64Backend {
  if (native !== null) return { native: true, kernel: native.kernel };
  return { native: false, kernel: 'js', reason: loaded instanceof Error ? loaded.message : 'turned off by useCrc64Native(false)' };
}

/**
 * Turns the addon off (false: the JS code for every buffer) or back on (true: only if it loaded
 * and passed its checks). For tests and benchmarks; the default is on. Returns whether it is in use.
 */
export function useCrc64Native(enabled: boolean): boolean {
  native = enabled && !(loaded instanceof Error) ? loaded : null;
  return native !== null;
}
