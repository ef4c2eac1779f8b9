import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { AliOssStore, createLogger, createRedis, crc64, TokenServiceCredentials } from '@vod-ingest/shared';
import { startEmulator, startTestRedis, startTokenService, type TestEmulator, type TestRedis, type TestService } from '@vod-ingest/shared/testing';
import type { Redis } from 'ioredis';
import { Writable } from 'node:stream';
import { CheckpointStore } from '../src/upload/checkpoint.store.js';
import { fileSource, uploadObject, UploadPausedError, type UploaderDeps } from '../src/upload/multipart-uploader.js';
import { MAX_PARTS, MIN_PART_SIZE, planParts } from '../src/upload/part-plan.js';

const KiB = 1024;
let emu: TestEmulator;
let redisServer: TestRedis;
let redis: Redis;
let token: TestService & { secret: string };
let dir: string;
let deps: UploaderDeps;
let file: string;
let bytes: Buffer;
const PART = 256 * KiB;

before(async () => {
  [emu, redisServer] = await Promise.all([startEmulator(), startTestRedis()]);
  token = await startTokenService({ emulator: emu, redisUrl: redisServer.url });
  redis = createRedis(redisServer.url);
  dir = mkdtempSync(path.join(tmpdir(), 'uploader-'));
  bytes = randomBytes(20 * PART + 1234); // 21 parts
  file = path.join(dir, 'src.bin');
  writeFileSync(file, bytes);
  const credentials = new TokenServiceCredentials({ url: token.url, secret: token.secret, profile: 'ingest' });
  deps = {
    store: new AliOssStore({ endpoint: emu.url, bucket: emu.bucket, region: emu.region, credentials }),
    checkpoints: new CheckpointStore(redis, '{uploader-test}'),
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

describe('part plan', () => {
  test('parts of the requested size, never under 100 KiB, never more than 10,000', () => {
    assert.deepEqual(planParts(10, 8 * 1024 * KiB).single, true);
    const p = planParts(3 * PART + 1, PART);
    assert.deepEqual(
      p.parts.map((r) => r.end - r.start),
      [PART, PART, PART, 1],
    );
    assert.equal(planParts(10 * 1024 * KiB, 1).partSize, MIN_PART_SIZE);
    const huge = planParts(200 * 1024 * 1024 * KiB, 8 * 1024 * KiB); // 200 GiB
    assert.ok(huge.parts.length <= MAX_PARTS, `${huge.parts.length} parts`);
    assert.equal(huge.parts.at(-1)!.end, 200 * 1024 * 1024 * KiB);
  });
});

describe('multipart uploader against the emulator', () => {
  test('uploads in parallel parts; the object is the file (CRC-64), one UploadPart per part', async () => {
    const progress: number[] = [];
    const out = await uploadObject(deps, {
      jobId: 'whole',
      key: 'up/whole.bin',
      source: source(),
      partSize: PART,
      parallel: 4,
      onProgress: (p) => progress.push(p.partsUploaded),
    });
    assert.equal(out.crc64, crc64(bytes));
    assert.equal(out.size, bytes.length);
    assert.equal(await uploadParts(), 21);
    assert.equal(progress.at(-1), 21);
    const head = await deps.store.head('up/whole.bin');
    assert.equal(head?.crc64, crc64(bytes));
  });

  test('paused at a part boundary, then resumed: finished parts are not sent again', async () => {
    const ctl = new AbortController();
    await emu.addFaults([{ action: 'UploadPart', latencyMs: 30 }]);
    const first = uploadObject(deps, {
      jobId: 'pause',
      key: 'up/pause.bin',
      source: source(),
      partSize: PART,
      parallel: 3,
      signal: ctl.signal,
      onProgress: (p) => p.partsUploaded >= 7 && ctl.abort(),
    });
    await assert.rejects(first, UploadPausedError);
    const sentBefore = await uploadParts();
    assert.ok(sentBefore >= 7 && sentBefore < 21, `paused after ${sentBefore} parts`);
    const out = await uploadObject(deps, { jobId: 'pause', key: 'up/pause.bin', source: source(), partSize: PART, parallel: 3 });
    assert.equal(out.crc64, crc64(bytes));
    assert.equal(await uploadParts(), 21, 'each part sent once over both runs');
    assert.equal(out.partsSent, 21 - sentBefore);
  });

  test('a part OSS confirmed but the checkpoint missed (crash in between) is adopted by its CRC, not re-sent', async () => {
    const ctl = new AbortController();
    await assert.rejects(
      uploadObject(deps, {
        jobId: 'crash',
        key: 'up/crash.bin',
        source: source(),
        partSize: PART,
        parallel: 1,
        signal: ctl.signal,
        onProgress: (p) => p.partsUploaded >= 5 && ctl.abort(),
      }),
      UploadPausedError,
    );
    await redis.hdel('{uploader-test}:checkpoint:crash', 'part:3', 'part:4'); // as if we died before recording them
    const before = await uploadParts();
    const out = await uploadObject(deps, { jobId: 'crash', key: 'up/crash.bin', source: source(), partSize: PART, parallel: 2 });
    assert.equal(out.crc64, crc64(bytes));
    assert.equal((await uploadParts()) - before, 21 - before, 'only the parts OSS never had');
  });

  test('an upload OSS no longer knows (NoSuchUpload) starts again and succeeds', async () => {
    const ctl = new AbortController();
    await assert.rejects(
      uploadObject(deps, {
        jobId: 'gone',
        key: 'up/gone.bin',
        source: source(),
        partSize: PART,
        parallel: 1,
        signal: ctl.signal,
        onProgress: (p) => p.partsUploaded >= 2 && ctl.abort(),
      }),
      UploadPausedError,
    );
    const cp = await deps.checkpoints.load('gone');
    await deps.store.abort('up/gone.bin', cp!.uploadId);
    const out = await uploadObject(deps, { jobId: 'gone', key: 'up/gone.bin', source: source(), partSize: PART, parallel: 3 });
    assert.equal(out.crc64, crc64(bytes));
    assert.notEqual(out.uploadId, cp!.uploadId);
  });

  test('503s and dropped connections on UploadPart are retried per part; the retries are reported', async () => {
    // The first UploadPart is dropped and the next two answer 503 (a rule counts every request
    // it matches, even one an earlier rule already failed), so both kinds happen in every run;
    // the random rules add more on top.
    await emu.addFaults([
      { action: 'UploadPart', times: 1, drop: true },
      { action: 'UploadPart', times: 3, status: 503, code: 'ServiceUnavailable' },
      { action: 'UploadPart', rate: 0.2, status: 503, code: 'ServiceUnavailable' },
      { action: 'UploadPart', rate: 0.05, drop: true },
    ]);
    const reasons: string[] = [];
    const out = await uploadObject(deps, {
      jobId: 'faulty',
      key: 'up/faulty.bin',
      source: source(),
      partSize: PART,
      parallel: 4,
      retryCount: 6,
      retryDurationMs: 20,
      onPartRetry: (r) => reasons.push(r),
    });
    assert.equal(out.crc64, crc64(bytes));
    const stats = await emu.stats();
    assert.ok((stats.faults.UploadPart ?? 0) > 0, 'faults were injected');
    assert.equal(reasons.length, stats.faults.UploadPart, 'every injected failure was retried');
    assert.ok((stats.faults.UploadPart ?? 0) >= 3, 'one drop and two 503s at least');
    assert.ok(reasons.includes('ServiceUnavailable'), `503s among the retries: ${reasons.join(', ')}`);
    assert.ok(
      reasons.some((r) => r !== 'ServiceUnavailable'),
      `a dropped connection among the retries: ${reasons.join(', ')}`,
    );
  });

  test('below one part: a single PUT', async () => {
    const small = path.join(dir, 'small.bin');
    const body = randomBytes(50 * KiB);
    writeFileSync(small, body);
    const out = await uploadObject(deps, { jobId: 'small', key: 'up/small.bin', source: fileSource(small, body.length), partSize: PART });
    assert.equal(out.crc64, crc64(body));
    const stats = await emu.stats();
    assert.equal(stats.requests.PutObject, 1);
    assert.equal(stats.requests.InitiateMultipartUpload ?? 0, 0);
  });
});
