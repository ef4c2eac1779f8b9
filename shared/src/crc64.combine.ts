/**
 * CRC-64/XZ combine: crc(A ++ B) from crc(A), crc(B) and len(B), without the bytes (zlib's
 * method), so a multipart object's CRC follows from its parts' CRCs.
 */

const MASK64 = (1n << 64n) - 1n;
const POLY64 = 0xc96c5795d7870f42n;

function gf2MatrixTimes(mat: bigint[], vec: bigint): bigint {
  let sum = 0n;
  let i = 0;
  while (vec !== 0n) {
    if (vec & 1n) sum ^= mat[i];
    vec >>= 1n;
    i++;
  }
  return sum;
}

function gf2MatrixSquare(square: bigint[], mat: bigint[]): void {
  for (let n = 0; n < 64; n++) square[n] = gf2MatrixTimes(mat, mat[n]);
}

/** `byteOps[k]`: the operator that appends 2^k zero bytes to a CRC register; built once, on demand. */
const byteOps: bigint[][] = [];

function byteOp(k: number): bigint[] {
  while (byteOps.length <= k) {
    const next: bigint[] = new Array(64).fill(0n);
    if (byteOps.length === 0) {
      let op: bigint[] = new Array(64).fill(0n);
      op[0] = POLY64; // operator for one zero bit
      for (let n = 1; n < 64; n++) op[n] = 1n << BigInt(n - 1);
      for (let bits = 1; bits < 8; bits *= 2) {
        const sq: bigint[] = new Array(64).fill(0n);
        gf2MatrixSquare(sq, op);
        op = sq;
      }
      byteOps.push(op);
      continue;
    }
    gf2MatrixSquare(next, byteOps[byteOps.length - 1]);
    byteOps.push(next);
  }
  return byteOps[k];
}

/**
 * CRC-64/XZ of the concatenation A ++ B, given crc(A), crc(B) and the length of B in bytes.
 * Used to derive a multipart object's CRC from its parts' CRCs. zlib's method, with the squared
 * operators kept between calls (an upload of thousands of parts combines them all).
 */
export function crc64Combine(crc1: bigint, crc2: bigint, len2: number | bigint): bigint {
  let len = BigInt(len2);
  if (len === 0n) return crc1;
  let c1 = crc1 & MASK64;
  for (let k = 0; len !== 0n; k++, len >>= 1n) if (len & 1n) c1 = gf2MatrixTimes(byteOp(k), c1);
  return (c1 ^ crc2) & MASK64;
}

/** Combines a list of `(crc, length)` pieces in order; the CRC of nothing is 0. */
export function crc64CombineAll(pieces: Array<{ crc: bigint; size: number }>): bigint {
  let acc = 0n;
  for (const p of pieces) acc = crc64Combine(acc, p.crc, p.size);
  return acc;
}
