import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Crc64, crc64Backend, crc64CombineAll, useCrc64Native } from './crc64.js';
import type { Crc64Native } from './crc64.native.js';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const addonDir = path.dirname(require.resolve('@vod-ingest/crc64-native/package.json'));
after(() => useCrc64Native(true));

/** Bit-at-a-time reference, straight from the CRC-64/XZ definition. */
function reference(buf: Uint8Array): bigint {
  let crc = 0xffffffffffffffffn;
  for (const b of buf) {
    crc ^= BigInt(b);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ 0xc96c5795d7870f42n : crc >> 1n;
  }
  return crc ^ 0xffffffffffffffffn;
}

/** Mulberry32: the random splits below are reproducible from the seed in a failure message. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function js(buf: Uint8Array): bigint {
  useCrc64Native(false);
  const crc = new Crc64().update(buf).digest();
  assert.ok(useCrc64Native(true), 'the addon is back in use');
  return crc;
}

/** One call into the addon, below Crc64's 64-byte threshold too. */
function direct(fn: Crc64Native['update'], buf: Uint8Array): bigint {
  const state = new Uint32Array([0xffffffff, 0xffffffff]);
  fn(state, buf);
  return (BigInt(~state[1] >>> 0) << 32n) | BigInt(~state[0] >>> 0);
}

test('the addon is built, in use, and takes the carry-less path where the CPU has one', () => {
  const backend = crc64Backend();
  assert.ok(backend.native, `the crc64 addon is not in use: ${backend.reason}`);
  const flags = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  if (process.arch === 'x64' && /\bpclmulqdq\b/.test(flags)) assert.equal(backend.kernel, 'pclmul');
  if (process.arch === 'arm64' && /\bpmull\b/.test(flags)) assert.equal(backend.kernel, 'pmull');
});

test('the addon (carry-less and portable C) gives the reference for "123456789" and every length 0..600', () => {
  const native = require('@vod-ingest/crc64-native') as Crc64Native;
  for (const fn of [native.update, native.updatePortable]) {
    assert.equal(direct(fn, Buffer.from('123456789')), 11051210869376104954n);
    const data = randomBytes(600);
    for (let n = 0; n <= 600; n++) assert.equal(direct(fn, data.subarray(0, n)), reference(data.subarray(0, n)), `length ${n}`);
  }
});

test('native equals JS for every length 0..10,000 at every alignment 0..15', () => {
  const native = require('@vod-ingest/crc64-native') as Crc64Native;
  const backing = randomBytes(10_000 + 16);
  for (let offset = 0; offset < 16; offset++) {
    for (let n = 0; n <= 10_000; n++) {
      const view = backing.subarray(offset, offset + n);
      const want = js(view);
      assert.equal(new Crc64().update(view).digest(), want, `offset ${offset}, length ${n}`);
      assert.equal(direct(native.update, view), want, `addon, offset ${offset}, length ${n}`);
      if (n % 97 === 0) assert.equal(direct(native.updatePortable, view), want, `portable C, offset ${offset}, length ${n}`);
    }
  }
});

test('native equals JS on MiB buffers at alignments 0..15', () => {
  const backing = randomBytes(9 * 1024 * 1024 + 16);
  for (const [n, offset] of [
    [1 << 20, 0],
    [(3 << 20) + 5, 3],
    [(8 << 20) + 13, 9],
    [9 << 20, 16],
  ]) {
    const view = backing.subarray(offset, offset + n);
    assert.equal(new Crc64().update(view).digest(), js(view), `offset ${offset}, length ${n}`);
  }
  for (let offset = 0; offset < 16; offset++) {
    const view = backing.subarray(offset, offset + (1 << 20) + offset * 7);
    assert.equal(new Crc64().update(view).digest(), js(view), `offset ${offset}`);
  }
});

test('random chunk sequences through one Crc64 equal the one-shot JS value', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const next = rng(seed);
    const data = randomBytes(Math.floor(next() * 3 * 1024 * 1024));
    const crc = new Crc64();
    // Mostly small and mid-sized pieces (both sides of the 64-byte and 256-byte thresholds), some large.
    for (let i = 0; i < data.length; ) {
      const r = next();
      const step = r < 0.4 ? Math.floor(next() * 80) : r < 0.8 ? Math.floor(next() * 5000) : Math.floor(next() * 600_000);
      crc.update(data.subarray(i, i + step));
      i += step;
    }
    assert.equal(crc.length, data.length);
    assert.equal(crc.digest(), js(data), `seed ${seed}, ${data.length} bytes`);
  }
});

test('combine over native part digests gives the whole object CRC', () => {
  const next = rng(99);
  const parts = Array.from({ length: 30 }, () => randomBytes(Math.floor(next() * 300_000)));
  parts.push(Buffer.alloc(0), randomBytes(1), randomBytes(255), randomBytes(256));
  const whole = Buffer.concat(parts);
  const combined = crc64CombineAll(parts.map((p) => ({ crc: new Crc64().update(p).digest(), size: p.length })));
  assert.equal(combined, new Crc64().update(whole).digest());
  assert.equal(combined, js(whole));
});

test('without the addon (not built), crc64 loads, says why, and computes with the JS code', () => {
  // The sources copied outside the repository, where '@vod-ingest/crc64-native' cannot resolve.
  const dir = mkdtempSync(path.join(tmpdir(), 'crc64-nonative-'));
  try {
    for (const f of ['crc64.ts', 'crc64.native.ts', 'crc64.combine.ts']) cpSync(path.join(here, f), path.join(dir, f));
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    const script = `import { crc64, crc64Backend, useCrc64Native } from './crc64.ts';
      console.log(JSON.stringify({ backend: crc64Backend(), on: useCrc64Native(true), check: crc64(Buffer.from('123456789')), big: crc64(Buffer.alloc(100000, 7)) }));`;
    writeFileSync(path.join(dir, 'run.ts'), script);
    const r = spawnSync(process.execPath, ['--import', require.resolve('tsx'), 'run.ts'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.backend.native, false);
    assert.equal(out.backend.kernel, 'js');
    assert.match(out.backend.reason, /Cannot find module '@vod-ingest\/crc64-native'/);
    assert.equal(out.on, false);
    assert.equal(out.check, '11051210869376104954');
    assert.equal(BigInt(out.big), js(Buffer.alloc(100000, 7)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the install step builds against the local Node headers, and exits 0 when the build fails', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'crc64-install-'));
  try {
    for (const f of ['package.json', 'binding.gyp', 'index.js', 'install.js', 'src']) cpSync(path.join(addonDir, f), path.join(dir, f), { recursive: true });
    const env = { ...process.env, CRC64_NATIVE_SKIP_BUILD: '' };
    const ok = spawnSync(process.execPath, ['install.js'], { cwd: dir, env, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /crc64-native: built, kernel \w+/);
    assert.doesNotMatch(ok.stdout + ok.stderr, /download|http/i);

    writeFileSync(path.join(dir, 'failing-gyp.js'), 'process.exit(3)');
    const failed = spawnSync(process.execPath, ['install.js'], {
      cwd: dir,
      env: { ...env, npm_config_node_gyp: path.join(dir, 'failing-gyp.js') },
      encoding: 'utf8',
    });
    assert.equal(failed.status, 0, failed.stderr);
    assert.match(failed.stderr, /build failed \(node-gyp exit 3\); CRC-64 uses the JS code/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
