/**
 * CRC-64/ECMA throughput, side by side with MD5 (which OSS ETags need anyway) and the npm
 * implementations, on the same buffer in one run. Not a timed test: it prints MB/s and ratios.
 *   npm run bench:crc64 [-- --mib 256 --rounds 3]
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { Crc64 } from '@vod-ingest/shared';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' }, rounds: { type: 'string', default: '3' } } });
const size = Number(values.mib) * 1024 * 1024;
const rounds = Number(values.rounds);
const buf = randomBytes(size);
const require = createRequire(import.meta.url);

// Every implementation sees the buffer in 1 MiB chunks, as an upload stream delivers it.
const CHUNK = 1024 * 1024;
function chunked(b: Buffer, each: (c: Buffer) => void): void {
  for (let o = 0; o < b.length; o += CHUNK) each(b.subarray(o, o + CHUNK));
}
/** `sample`: time on only this many bytes (for implementations too slow for the whole buffer). */
type Impl = { name: string; run: (b: Buffer) => unknown; sample?: number };
const impls: Impl[] = [
  { name: 'vod-ingest Crc64 (slicing-by-8, JS)', run: (b) => { const c = new Crc64(); chunked(b, (x) => c.update(x)); return c.digestString(); } },
  { name: 'node:crypto md5 (OpenSSL, native)', run: (b) => { const h = createHash('md5'); chunked(b, (x) => h.update(x)); return h.digest('hex'); } },
];
// Optional comparisons: the npm packages, when installed (devDependencies).
for (const [name, load, sample] of [
  // Per-chunk calls (throughput only; their running-CRC APIs differ).
  ['crc64-ecma182.js (npm, wasm)', () => { const m = require('crc64-ecma182.js'); return (b: Buffer) => { let r: unknown; chunked(b, (x) => (r = m.crc64(x))); return r; }; }],
  // BigInt per byte: ~0.05 MB/s, so it is timed on 16 KiB only.
  ['crc64-ecma (npm, BigInt)', () => { const m = require('crc64-ecma'); const f = m.crc64 ?? m.default ?? m; return (b: Buffer) => f(b); }, 16 * 1024],
] as Array<[string, () => (b: Buffer) => unknown, number?]>) {
  try {
    impls.push({ name, run: load(), sample });
  } catch {
    console.log(`(skipped ${name}: not installed)`);
  }
}

// The npm packages must agree on the check value before they are timed.
const check = Buffer.from('123456789');
const expected = new Crc64().update(check).digest();
for (const impl of impls.slice(2)) {
  let got: unknown;
  try {
    got = impl.run(check);
  } catch (err) {
    console.log(`warning: ${impl.name} failed on the check value: ${(err as Error).message}`);
    continue;
  }
  const asBig = typeof got === 'bigint' ? got : typeof got === 'string' ? BigInt(/^[0-9]+$/.test(got) ? got : `0x${got}`) : BigInt(String(got));
  if (asBig !== expected) console.log(`warning: ${impl.name} gives ${String(got)} for "123456789"`);
}

function mbps(impl: Impl): number {
  const data = impl.sample ? buf.subarray(0, impl.sample) : buf;
  impl.run(data.subarray(0, Math.min(data.length, 1024 * 1024))); // warm up
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    impl.run(data);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.max(best, data.length / 1048576 / s);
  }
  return best;
}

console.log(`CRC-64 vs MD5 on one ${values.mib} MiB buffer, best of ${rounds} (Node ${process.version})`);
const results = impls.map((i) => ({ name: i.name, mbps: mbps(i) }));
const md5 = results[1].mbps;
for (const r of results) console.log(`${r.name.padEnd(40)} ${r.mbps.toFixed(r.mbps < 10 ? 3 : 0).padStart(8)} MB/s   ratio to md5 ${(r.mbps / md5).toFixed(r.mbps / md5 < 0.01 ? 5 : 2)}`);
