import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { AliOssStore, type AliOssStoreOptions, type CredentialSource, createLogger, createRedis, crc64, TokenServiceCredentials } from '@vod-ingest/shared';
import { startEmulator, startTestRedis, startTokenService, type TestEmulator, type TestRedis, type TestService } from '@vod-ingest/shared/testing';
import type { Redis } from 'ioredis';
import { CHUNK_BYTES, ChunkRing, chunkStats } from '../src/upload/chunk-ring.js';
import { CheckpointStore } from '../src/upload/checkpoint.store.js';
import { DirectPartStore, noteSyncRead, resetSyncReads, SYNC_READ_MAX_BYTES, syncReadsOn } from '../src/upload/direct-part.store.js';
import { FileRange } from '../src/upload/file-range.js';
import { fileSource, uploadObject, UploadPausedError, type UploaderDeps } from '../src/upload/multipart-uploader.js';

const KiB = 1024;
const PART = 600 * KiB; // not a multiple of the pooled chunk: every part ends in a short read
let emu: TestEmulator;
let redisServer: TestRedis;
let redis: Redis;
let token: TestService & { secret: string };
let dir: string;
let file: string;
let bytes: Buffer;
let credentials: CredentialSource;
let opts: AliOssStoreOptions;
let deps: UploaderDeps;

before(async () => {
  [emu, redisServer] = await Promise.all([startEmulator(), startTestRedis()]);
  token = await startTokenService({ emulator: emu, redisUrl: redisServer.url });
  redis = createRedis(redisServer.url);
  dir = mkdtempSync(path.join(tmpdir(), 'direct-part-'));
  bytes = randomBytes(12 * PART + 777); // 13 parts
  file = path.join(dir, 'src.bin');
  writeFileSync(file, bytes);
  credentials = new TokenServiceCredentials({ url: token.url, secret: token.secret, profile: 'ingest' });
  opts = { endpoint: emu.url, bucket: emu.bucket, region: emu.region, credentials };
  deps = {
    store: new DirectPartStore(new AliOssStore(opts), opts),
    checkpoints: new CheckpointStore(redis, '{direct-part-test}'),
    log: createLogger('test', { destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
  };
});
after(async () => {
  redis?.disconnect();
  await token?.stop();
  await Promise.all([emu?.stop(), redisServer?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await emu.clearFaults();
  await emu.resetStats();
});

const source = () => fileSource(file, bytes.length);
const uploadParts = async () => (await emu.stats()).requests.UploadPart ?? 0;

describe('DirectPartStore against the emulator', () => {
  test('parts of a file go out from pooled buffers; the object is the file (CRC-64 per part and object)', async () => {
    const out = await uploadObject(deps, { jobId: 'whole', key: 'direct/whole.bin', source: source(), partSize: PART, parallel: 4 });
    assert.equal(out.crc64, crc64(bytes));
    assert.equal(out.size, bytes.length);
    assert.equal(await uploadParts(), 13);
    assert.ok(chunkStats().pooled > 0, 'the read buffers went back to the pool');
    assert.equal((await deps.store.head('direct/whole.bin'))?.crc64, crc64(bytes));
  });

  test('the buffers are reused: a second upload takes them from the pool, one ring per part in flight at most', async () => {
    const before = chunkStats().allocated;
    await uploadObject(deps, { jobId: 'again', key: 'direct/again.bin', source: source(), partSize: PART, parallel: 2 });
    const fresh = chunkStats().allocated - before;
    // Without the pool each of the 13 parts would allocate its own 3 buffers (600 KiB in 256 KiB reads).
    assert.ok(fresh <= 2 * 4, `${fresh} buffers allocated for 13 parts`);
  });

  test('503s and dropped connections are retried per part; every retry is reported', async () => {
    await emu.addFaults([
      { action: 'UploadPart', times: 3, status: 503, code: 'ServiceUnavailable' },
      { action: 'UploadPart', times: 2, drop: true },
    ]);
    const reasons: string[] = [];
    const out = await uploadObject(deps, {
      jobId: 'faulty',
      key: 'direct/faulty.bin',
      source: source(),
      partSize: PART,
      parallel: 4,
      retryCount: 8,
      retryDurationMs: 10,
      onPartRetry: (r) => reasons.push(r),
    });
    assert.equal(out.crc64, crc64(bytes));
    const stats = await emu.stats();
    assert.ok((stats.faults.UploadPart ?? 0) >= 3, `${stats.faults.UploadPart} faults injected`);
    assert.ok(reasons.includes('ServiceUnavailable'));
    assert.equal(reasons.length, stats.faults.UploadPart, 'every injected failure was retried');
  });

  test('a refused credential is replaced once and the part sent again', async () => {
    await emu.addFaults([{ action: 'UploadPart', times: 1, status: 403, code: 'InvalidAccessKeyId', message: 'revoked' }]);
    let refreshes = 0;
    const counting: CredentialSource = {
      get: () => credentials.get(),
      refreshAfterRejection: (c) => (refreshes++, credentials.refreshAfterRejection(c)),
    };
    const o = { ...opts, credentials: counting };
    const store = new DirectPartStore(new AliOssStore(o), o);
    const out = await uploadObject({ ...deps, store }, { jobId: 'cred', key: 'direct/cred.bin', source: source(), partSize: PART, parallel: 2 });
    assert.equal(out.crc64, crc64(bytes));
    assert.equal(refreshes, 1);
  });

  test('an OSS error is mapped with its code and request id, and not retried when it is not retryable', async () => {
    await emu.addFaults([{ action: 'UploadPart', times: 1, status: 400, code: 'InvalidArgument', message: 'no' }]);
    const id = await deps.store.initiate('direct/err.bin');
    await assert.rejects(
      deps.store.uploadPart('direct/err.bin', id, 1, PART, () => new FileRange(file, 0, PART)),
      (err: { code?: string; retryable?: boolean; status?: number }) => err.code === 'InvalidArgument' && err.retryable === false && err.status === 400,
    );
    await deps.store.abort('direct/err.bin', id);
  });

  test('a request that makes no progress times out as a retryable network error', async () => {
    await emu.addFaults([{ action: 'UploadPart', times: 1, latencyMs: 3000 }]);
    const o = { ...opts, timeoutMs: 300 };
    const store = new DirectPartStore(new AliOssStore(o), o);
    const id = await store.initiate('direct/slow.bin');
    await assert.rejects(
      store.uploadPart('direct/slow.bin', id, 1, PART, () => new FileRange(file, 0, PART)),
      (err: { retryable?: boolean }) => err.retryable === true,
    );
    const part = await store.uploadPart('direct/slow.bin', id, 1, PART, () => new FileRange(file, 0, PART));
    assert.equal(part.crc64, crc64(bytes.subarray(0, PART)));
    await store.abort('direct/slow.bin', id);
  });

  test('a file cut short under a part fails it as SOURCE_SHORT (retryable), without hanging', async () => {
    const short = path.join(dir, 'short.bin');
    writeFileSync(short, bytes.subarray(0, 2 * PART));
    truncateSync(short, PART + 1000);
    const id = await deps.store.initiate('direct/short.bin');
    await assert.rejects(
      deps.store.uploadPart('direct/short.bin', id, 2, PART, () => new FileRange(short, PART, 2 * PART)),
      {
        code: 'SOURCE_SHORT',
        retryable: true,
      },
    );
    // The connection of the cut-short request is not reused: the next part goes through.
    const part = await deps.store.uploadPart('direct/short.bin', id, 1, PART, () => new FileRange(short, 0, PART));
    assert.equal(part.crc64, crc64(bytes.subarray(0, PART)));
    await deps.store.abort('direct/short.bin', id);
  });

  test('paused at a part boundary, then resumed from the checkpoint: finished parts are not sent again', async () => {
    const ctl = new AbortController();
    await emu.addFaults([{ action: 'UploadPart', latencyMs: 20 }]);
    const first = uploadObject(deps, {
      jobId: 'pause',
      key: 'direct/pause.bin',
      source: source(),
      partSize: PART,
      parallel: 2,
      signal: ctl.signal,
      onProgress: (p) => p.partsUploaded >= 5 && ctl.abort(),
    });
    await assert.rejects(first, UploadPausedError);
    const sentBefore = await uploadParts();
    const out = await uploadObject(deps, { jobId: 'pause', key: 'direct/pause.bin', source: source(), partSize: PART, parallel: 3 });
    assert.equal(out.crc64, crc64(bytes));
    assert.equal(await uploadParts(), 13, 'each part sent once over both runs');
    assert.equal(out.partsSent, 13 - sentBefore);
  });

  test('one slow synchronous read (the process lost its core) keeps reads synchronous; three in a row (a slow disk) move them to the thread pool for a minute', () => {
    const t0 = Date.now();
    try {
      resetSyncReads();
      for (let i = 0; i < 100; i++) noteSyncRead(i % 10 === 0 ? 6 : 0.02, t0);
      noteSyncRead(4, t0);
      noteSyncRead(4, t0);
      assert.ok(syncReadsOn(t0), 'isolated slow reads, and two in a row, are a busy machine');
      noteSyncRead(4, t0);
      assert.ok(!syncReadsOn(t0), 'the third slow read in a row is a slow disk');
      assert.ok(!syncReadsOn(t0 + 59_000));
      assert.ok(syncReadsOn(t0 + 60_000), 'synchronous again after a minute');
      noteSyncRead(4, t0 + 60_000);
      noteSyncRead(0.5, t0 + 60_000);
      noteSyncRead(4, t0 + 60_000);
      noteSyncRead(4, t0 + 60_000);
      assert.ok(syncReadsOn(t0 + 60_000), 'a fast read starts the count again');
    } finally {
      resetSyncReads();
    }
  });

  test('small ranges are read synchronously, large ones and all after slow reads in the thread pool: the same bytes and CRC-64 either way', async () => {
    assert.ok(PART <= SYNC_READ_MAX_BYTES && bytes.length > SYNC_READ_MAX_BYTES);
    const whole = await deps.store.put('direct/sync-large.bin', bytes.length, () => new FileRange(file, 0, bytes.length));
    assert.equal(whole.crc64, crc64(bytes));
    try {
      resetSyncReads(true);
      const small = await deps.store.put('direct/async-small.bin', PART, () => new FileRange(file, PART, 2 * PART));
      assert.equal(small.crc64, crc64(bytes.subarray(PART, 2 * PART)));
      const short = path.join(dir, 'short-async.bin');
      writeFileSync(short, bytes.subarray(0, 1000));
      await assert.rejects(
        deps.store.put('direct/short-async.bin', PART, () => new FileRange(short, 0, PART)),
        { code: 'SOURCE_SHORT', retryable: true },
      );
    } finally {
      resetSyncReads();
    }
    assert.equal((await deps.store.head('direct/async-small.bin'))?.crc64, crc64(bytes.subarray(PART, 2 * PART)));
  });

  test('a body that is not a file range goes to the SDK store, streamed', async () => {
    const id = await deps.store.initiate('direct/stream.bin');
    const body = bytes.subarray(0, PART);
    const part = await deps.store.uploadPart('direct/stream.bin', id, 1, PART, () => Readable.from([body.subarray(0, 1000), body.subarray(1000)]));
    assert.equal(part.crc64, crc64(body));
    await deps.store.abort('direct/stream.bin', id);
  });
});

describe('FileRange and ChunkRing', () => {
  test('a FileRange streams its range to any consumer', async () => {
    const chunks: Buffer[] = [];
    for await (const c of new FileRange(file, 1000, 1000 + 3 * CHUNK_BYTES + 5)) chunks.push(c as Buffer);
    assert.deepEqual(Buffer.concat(chunks), bytes.subarray(1000, 1000 + 3 * CHUNK_BYTES + 5));
  });

  test('a ring hands out at most its depth until buffers come back, and a failure ends the wait', async () => {
    const ring = new ChunkRing(2);
    const a = await ring.acquire();
    const b = await ring.acquire();
    assert.notEqual(a, b);
    let third: Buffer | undefined;
    const waiting = ring.acquire().then((buf) => (third = buf));
    await new Promise((r) => setImmediate(r));
    assert.equal(third, undefined, 'no third buffer while two are out');
    ring.release(a);
    await waiting;
    assert.equal(third, a, 'the returned buffer is the one handed out again');
    const blocked = ring.acquire();
    ring.fail(new Error('request failed'));
    await assert.rejects(blocked, /request failed/);
    await assert.rejects(ring.acquire(), /request failed/);
    ring.release(b);
    ring.close();
  });
});
