/**
 * CRC-64/ECMA throughput, side by side with MD5 (which OSS ETags need anyway) and the npm
 * implementations, on the same buffer in one run: vod-ingest's Crc64 with its addon (what runs in
 * production when the addon is built) and with the JS code forced (its fallback). Not a timed
 * test: it prints MB/s and the ratios to MD5 and to the JS code.
 *   npm run bench:crc64 [-- --mib 256 --rounds 3]
 */
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { Crc64, crc64Backend, useCrc64Native } from '@vod-ingest/shared';

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
function vodIngest(native: boolean): (b: Buffer) => unknown {
  return (b) => {
    useCrc64Native(native);
    const c = new Crc64();
    chunked(b, (x) => c.update(x));
    useCrc64Native(true);
    return c.digestString();
  };
}
const backend = crc64Backend();
const impls: Impl[] = [
  { name: 'vod-ingest Crc64 (slicing-by-8, JS)', run: vodIngest(false) },
  {
    name: 'node:crypto md5 (OpenSSL, native)',
    run: (b) => {
      const h = createHash('md5');
      chunked(b, (x) => h.update(x));
      return h.digest('hex');
    },
  },
];
if (backend.native) impls.push({ name: `vod-ingest Crc64 (addon, ${backend.kernel})`, run: vodIngest(true) });
else console.log(`(no addon row: ${backend.reason})`);
// Optional comparisons: the npm packages, when installed (devDependencies).
for (const [name, load, sample] of [
  // Per-chunk calls (throughput only; their running-CRC APIs differ).
  [
    'crc64-ecma182.js (npm, wasm)',
    () => {
      const m = require('crc64-ecma182.js');
      return (b: Buffer) => {
        let r: unknown;
        chunked(b, (x) => (r = m.crc64(x)));
        return r;
      };
    },
  ],
  // BigInt per byte: ~0.05 MB/s, so it is timed on 16 KiB only.
  [
    'crc64-ecma (npm, BigInt)',
    () => {
      const m = require('crc64-ecma');
      const f = m.crc64 ?? m.default ?? m;
      return (b: Buffer) => f(b);
    },
    16 * 1024,
  ],
] as Array<[string, () => (b: Buffer) => unknown, number?]>) {
  try {
    impls.push({ name, run: load(), sample });
  } catch {
    console.log(`(skipped ${name}: not installed)`);
  }
}

// Every CRC row must agree with the JS code on the check value, and the addon also on a long
// unaligned slice (its carry-less path starts at 256 bytes), before it is timed.
const check = Buffer.from('123456789');
const expected = vodIngest(false)(check);
const slice = buf.subarray(3, 3 + CHUNK + 5);
for (const impl of impls.filter((i) => i !== impls[1])) {
  let got: unknown;
  try {
    got = impl.run(check);
  } catch (err) {
    console.log(`warning: ${impl.name} failed on the check value: ${(err as Error).message}`);
    continue;
  }
  const asBig = typeof got === 'bigint' ? got : typeof got === 'string' ? BigInt(/^[0-9]+$/.test(got) ? got : `0x${got}`) : BigInt(String(got));
  if (asBig.toString() !== expected) console.log(`warning: ${impl.name} gives ${String(got)} for "123456789"`);
}
if (backend.native && vodIngest(true)(slice) !== vodIngest(false)(slice)) throw new Error('the addon disagrees with the JS code');

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
const [jsCode, md5] = [results[0].mbps, results[1].mbps];
const ratio = (x: number): string => x.toFixed(x < 0.01 ? 5 : 2).padStart(7);
for (const r of results)
  console.log(
    `${r.name.padEnd(40)} ${r.mbps.toFixed(r.mbps < 10 ? 3 : 0).padStart(8)} MB/s   ratio to md5 ${ratio(r.mbps / md5)}   to JS ${ratio(r.mbps / jsCode)}`,
  );
