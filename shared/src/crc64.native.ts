/**
 * Loads the CRC-64 addon (`@vod-ingest/crc64-native`: carry-less multiplication, built by
 * node-gyp during `npm ci`) and checks it before use. Absent or wrong, `crc64.ts` keeps its JS code.
 */
import { createRequire } from 'node:module';

/** The addon's exports. `state` is the register as [lo, hi] 32-bit halves, updated in place. */
export interface Crc64Native {
  update(state: Uint32Array, bytes: Uint8Array): void;
  /** The addon's portable C path only (its fallback on CPUs without carry-less multiply). */
  updatePortable(state: Uint32Array, bytes: Uint8Array): void;
  /** What `update` runs on this CPU: "pclmul", "pmull" or "table". */
  kernel: string;
}

/** "123456789" and its CRC-64/XZ check value; a second check, past the 256-byte folding threshold, uses the JS code as reference. */
const CHECK = new TextEncoder().encode('123456789');
const CHECK_VALUE = 0x995dc9bbdf1939fan;
const LONG_CHECK = Uint8Array.from({ length: 1000 }, (_, i) => (i * i + 7) & 0xff);

function digestOf(native: Crc64Native, bytes: Uint8Array): bigint {
  const state = new Uint32Array([0xffffffff, 0xffffffff]);
  native.update(state, bytes);
  return (BigInt(~state[1] >>> 0) << 32n) | BigInt(~state[0] >>> 0);
}

/**
 * The addon, or the reason it is not used (not built, cannot load here, or a wrong check value).
 * `jsDigest` is the JS implementation, the reference for the longer check.
 */
export function loadCrc64Native(jsDigest: (bytes: Uint8Array) => bigint): Crc64Native | Error {
  let native: Crc64Native;
  try {
    native = createRequire(import.meta.url)('@vod-ingest/crc64-native') as Crc64Native;
  } catch (err) {
    return err as Error;
  }
  for (const [bytes, want] of [
    [CHECK, CHECK_VALUE],
    [LONG_CHECK, jsDigest(LONG_CHECK)],
  ] as const) {
    const got = digestOf(native, bytes);
    if (got !== want) return new Error(`crc64-native (${native.kernel}) gives ${got} for a check value, not ${want}`);
  }
  return native;
}
