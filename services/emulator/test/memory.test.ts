import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Crc64 } from '@vod-ingest/shared';
import { startEmulator, type TestEmulator } from '@vod-ingest/shared/testing';
import { assumeRole, ossClient } from './sdk.js';

const GiB = 1024 * 1024 * 1024;
let emu: TestEmulator;
let dir: string;
before(async () => {
  emu = await startEmulator();
  dir = mkdtempSync(path.join(tmpdir(), 'emulator-mem-'));
});
after(async () => {
  await emu?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Writes `size` bytes of varied data (a random 1 MiB block, salted per MiB) and returns their CRC. */
async function writeBigFile(file: string, size: number): Promise<string> {
  const block = randomBytes(1024 * 1024);
  const crc = new Crc64();
  const out = createWriteStream(file);
  for (let off = 0, i = 0; off < size; off += block.length, i++) {
    const chunk = Buffer.from(block);
    chunk.writeUInt32LE(i, 0);
    crc.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return crc.digestString();
}

test('a 1 GiB multipart upload keeps the emulator under 150 MB RSS (objects stream to disk)', { timeout: 600_000 }, async () => {
  const file = path.join(dir, 'big.bin');
  const expectedCrc = await writeBigFile(file, GiB);
  const creds = await assumeRole(emu);
  const oss = ossClient(emu, creds, { timeout: 600_000 });
  await oss.multipartUpload('big/1gib.bin', file, { partSize: 16 * 1024 * 1024, parallel: 4 });
  const head = await oss.head('big/1gib.bin');
  const h = head.res.headers as Record<string, string>;
  assert.equal(Number(h['content-length']), GiB);
  assert.equal(h['x-oss-hash-crc64ecma'], expectedCrc, 'the stored object has the CRC of the file');
  const peak = emu.proc.peakRssBytes();
  assert.ok(peak < 150 * 1024 * 1024, `emulator peak RSS ${(peak / 1048576).toFixed(1)} MB < 150 MB`);
  console.log(`# emulator peak RSS over a 1 GiB multipart upload: ${(peak / 1048576).toFixed(1)} MB`);
});
