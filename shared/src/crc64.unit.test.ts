import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Crc64, crc64, crc64Backend, crc64Combine, crc64CombineAll, useCrc64Native } from './crc64.js';

/** Bit-at-a-time reference, straight from the CRC-64/XZ definition. */
function reference(buf: Uint8Array): bigint {
  const poly = 0xc96c5795d7870f42n;
  let crc = 0xffffffffffffffffn;
  for (const b of buf) {
    crc ^= BigInt(b);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc ^ 0xffffffffffffffffn;
}

// Every test below runs twice: with the addon (its carry-less path on this CPU) and with the
// JS code forced, the fallback when the addon is not built.
for (const backend of ['native', 'js'] as const)
  describe(`Crc64 (${backend})`, () => {
    before(() => {
      const inUse = useCrc64Native(backend === 'native');
      if (backend === 'native') assert.ok(inUse, `the crc64 addon is not in use: ${crc64Backend().reason}`);
      assert.equal(crc64Backend().native, backend === 'native');
    });
    after(() => useCrc64Native(true));

    test('check value of "123456789" is 0x995DC9BBDF1939FA = 11051210869376104954', () => {
      assert.equal(crc64(Buffer.from('123456789')), '11051210869376104954');
      assert.equal(new Crc64().update(Buffer.from('123456789')).digest(), 0x995dc9bbdf1939fan);
    });

    test('empty input has CRC 0', () => {
      assert.equal(crc64(Buffer.alloc(0)), '0');
    });

    test('matches the bit-by-bit reference for every length 0..64 and some random buffers', () => {
      const data = randomBytes(4096);
      for (let n = 0; n <= 64; n++) assert.equal(new Crc64().update(data.subarray(0, n)).digest(), reference(data.subarray(0, n)), `length ${n}`);
      for (const n of [1000, 4093, 4096]) assert.equal(new Crc64().update(data.subarray(0, n)).digest(), reference(data.subarray(0, n)));
    });

    test('aligned (32-bit word) and unaligned views of the same bytes give the reference value', () => {
      const backing = new Uint8Array(new ArrayBuffer(1024 + 8));
      backing.set(randomBytes(backing.length));
      for (let offset = 0; offset < 8; offset++) {
        for (const n of [0, 7, 8, 9, 16, 100, 1024]) {
          const view = backing.subarray(offset, offset + n);
          assert.equal(new Crc64().update(view).digest(), reference(view), `offset ${offset}, length ${n}`);
        }
      }
    });

    test('incremental updates in odd-sized pieces equal the one-shot value', () => {
      const data = randomBytes(100_003);
      const c = new Crc64();
      for (let i = 0; i < data.length; ) {
        const step = 1 + ((i * 7919) % 977);
        c.update(data.subarray(i, i + step));
        i += step;
      }
      assert.equal(c.digestString(), crc64(data));
      assert.equal(c.length, data.length);
    });

    test('combine gives the CRC of the concatenation without the bytes', () => {
      const parts = [randomBytes(102_400), randomBytes(1), randomBytes(77_777), Buffer.alloc(0), randomBytes(3)];
      const whole = BigInt(crc64(Buffer.concat(parts)));
      assert.equal(crc64CombineAll(parts.map((p) => ({ crc: BigInt(crc64(p)), size: p.length }))), whole);
      assert.equal(crc64Combine(BigInt(crc64(parts[0])), BigInt(crc64(parts[2])), parts[2].length), BigInt(crc64(Buffer.concat([parts[0], parts[2]]))));
      assert.notEqual(whole.toString(), createHash('md5').update(Buffer.concat(parts)).digest('hex'));
    });
  });
