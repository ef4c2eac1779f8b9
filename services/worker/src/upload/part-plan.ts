/** OSS multipart limits. */
export const MIN_PART_SIZE = 100 * 1024;
export const MAX_PARTS = 10_000;
/** Default part size (as the api documents): 8 MiB. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

export interface PartRange {
  partNumber: number;
  /** First byte, inclusive. */
  start: number;
  /** Last byte + 1. */
  end: number;
}

export interface PartPlan {
  partSize: number;
  /** True when the body fits in one part: a single PUT, no multipart upload. */
  single: boolean;
  parts: PartRange[];
}

/**
 * Splits `size` bytes into parts of `requested` bytes, grown (to a whole MiB) when that would need
 * more than 10,000 parts. Below one part the plan is a single PUT.
 */
export function planParts(size: number, requested = DEFAULT_PART_SIZE): PartPlan {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`invalid size ${size}`);
  let partSize = Math.max(requested, MIN_PART_SIZE);
  if (Math.ceil(size / partSize) > MAX_PARTS) {
    const MiB = 1024 * 1024;
    partSize = Math.ceil(size / MAX_PARTS / MiB) * MiB;
  }
  if (size <= partSize) return { partSize, single: true, parts: [{ partNumber: 1, start: 0, end: size }] };
  const parts: PartRange[] = [];
  for (let start = 0, n = 1; start < size; start += partSize, n++) parts.push({ partNumber: n, start, end: Math.min(start + partSize, size) });
  return { partSize, single: false, parts };
}
