import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { AliOssStore, crc64, TokenServiceCredentials, type Credential, type CredentialSource } from '../src/index.js';
import { startEmulator, startTestRedis, startTokenService, type TestEmulator, type TestRedis, type TestService } from '../src/testing/index.js';

let emu: TestEmulator;
let redis: TestRedis;
let token: TestService & { secret: string };
let dir: string;
before(async () => {
  [emu, redis] = await Promise.all([startEmulator({ tokenTtlSeconds: 3 }), startTestRedis()]);
  token = await startTokenService({ emulator: emu, redisUrl: redis.url });
  dir = mkdtempSync(path.join(tmpdir(), 'object-store-'));
});
after(async () => {
  await token?.stop();
  await Promise.all([emu?.stop(), redis?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const source = () => new TokenServiceCredentials({ url: token.url, secret: token.secret, profile: 'ingest' });
const store = (credentials: CredentialSource = source()) => new AliOssStore({ endpoint: emu.url, bucket: emu.bucket, region: emu.region, credentials });

/** Hands out an already-expired credential first, as a worker holding one across a long part would. */
class ExpiredFirst implements CredentialSource {
  rejections = 0;
  constructor(
    private stale: Credential,
    private readonly inner: CredentialSource,
  ) {}
  async get() {
    return this.stale;
  }
  async refreshAfterRejection(rejected: Credential) {
    this.rejections++;
    this.stale = await this.inner.refreshAfterRejection(rejected);
    return this.stale;
  }
}

test('multipart through the store: streamed parts, ListParts, Complete; CRC-64 checked per part and for the object', async () => {
  const size = 3 * 150 * 1024 + 777;
  const file = path.join(dir, 'src.bin');
  const bytes = randomBytes(size);
  writeFileSync(file, bytes);
  const s = store();
  const uploadId = await s.initiate('store/multi.bin', { contentType: 'video/mp4' });
  const parts = [];
  for (let n = 1, off = 0; off < size; n++, off += 150 * 1024) {
    const end = Math.min(off + 150 * 1024, size);
    parts.push(await s.uploadPart('store/multi.bin', uploadId, n, end - off, () => createReadStream(file, { start: off, end: end - 1 })));
  }
  assert.equal(parts[0].crc64, crc64(bytes.subarray(0, 150 * 1024)));
  const listed = await s.listParts('store/multi.bin', uploadId);
  assert.deepEqual(
    listed.map((p) => [p.partNumber, p.crc64, p.size]),
    parts.map((p) => [p.partNumber, p.crc64, p.size]),
  );
  const done = await s.complete('store/multi.bin', uploadId, parts);
  assert.equal(done.crc64, crc64(bytes));
  assert.equal(done.size, size);
  const head = await s.head('store/multi.bin');
  assert.equal(head?.crc64, crc64(bytes));
  assert.equal(head?.contentType, 'video/mp4');
});

test('an expired credential is replaced and the same upload goes on', async () => {
  const inner = source();
  const first = await inner.get();
  const s0 = store(inner);
  const uploadId = await s0.initiate('store/expiring.bin');
  await new Promise((r) => setTimeout(r, 3500)); // the credential's 3 s are over
  const creds = new ExpiredFirst(first, inner);
  const s = store(creds);
  const a = randomBytes(100 * 1024);
  const b = randomBytes(10);
  const p1 = await s.uploadPart('store/expiring.bin', uploadId, 1, a.length, () => Readable.from([a]));
  assert.equal(creds.rejections, 1, 'SecurityTokenExpired led to one refresh');
  const p2 = await s.uploadPart('store/expiring.bin', uploadId, 2, b.length, () => Readable.from([b]));
  const done = await s.complete('store/expiring.bin', uploadId, [p1, p2]);
  assert.equal(done.crc64, crc64(Buffer.concat([a, b])));
});

test('single put, head of a missing key, abort then NoSuchUpload', async () => {
  const s = store();
  const body = Buffer.from('small object');
  const put = await s.put('store/small.txt', body.length, () => Readable.from([body]), { contentType: 'text/plain' });
  assert.equal(put.crc64, crc64(body));
  assert.equal(await s.head('store/none'), undefined);
  const uploadId = await s.initiate('store/aborted');
  await s.abort('store/aborted', uploadId);
  await assert.rejects(s.listParts('store/aborted', uploadId), (e: { code?: string; status?: number; retryable?: boolean }) => {
    assert.equal(e.code, 'NoSuchUpload');
    assert.equal(e.retryable, false);
    return true;
  });
});

test('a source that fails mid-read fails the part: never a false success', async () => {
  const s = store();
  const uploadId = await s.initiate('store/broken');
  const broken = () =>
    new Readable({
      read() {
        this.destroy(Object.assign(new Error('disk gone'), { code: 'EIO' }));
      },
    });
  await assert.rejects(s.uploadPart('store/broken', uploadId, 1, 100, broken));
  await s.abort('store/broken', uploadId);
});
