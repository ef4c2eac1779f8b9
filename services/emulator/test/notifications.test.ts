import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, test } from 'node:test';
import { startEmulator, type EmulatorStats, type TestEmulator } from '@vod-ingest/shared/testing';
import { startCallbackReceiver, type CallbackReceiver, type ReceivedCallback } from './callback-receiver.js';
import { assumeRole, callVod, ossClient } from './sdk.js';

const KEY = `callback-key-${randomUUID()}`;
const PROCESSING_MS = 1500;
const RETRY_MS = 200;
const TIMEOUT_MS = 1000;
const ISO_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
const TYPES = ['FileUploadComplete', 'StreamTranscodeComplete', 'TranscodeComplete'];

let receiver: CallbackReceiver;
let emu: TestEmulator;
let caller: { accessKeyId: string; accessKeySecret: string; securityToken: string };
let dir: string;

before(async () => {
  // Paths pick the receiver's behaviour; a video names its path in UserData.MessageCallback.
  receiver = await startCallbackReceiver((p, nth, eventType) => {
    if (p.startsWith('/flaky/')) return nth <= 2 ? 500 : 200;
    if (p.startsWith('/down/')) return 503;
    if (p.startsWith('/slow/')) return eventType === 'FileUploadComplete' ? 'hang' : 200;
    return 200;
  });
  emu = await startEmulator({
    vodCallbackUrl: `${receiver.origin}/vod-events`,
    vodCallbackKey: KEY,
    processingMs: PROCESSING_MS,
    callbackRetryMs: RETRY_MS,
    callbackTimeoutMs: TIMEOUT_MS,
  });
  const sts = await assumeRole(emu);
  caller = { accessKeyId: sts.accessKeyId, accessKeySecret: sts.accessKeySecret, securityToken: sts.securityToken };
  dir = mkdtempSync(path.join(tmpdir(), 'notify-test-'));
});
after(async () => {
  await emu?.stop();
  await receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
// Every try the receiver saw is counted before the next test reads its deltas.
afterEach(async () => {
  await untilStats((s) => sum(s, 'delivered') + sum(s, 'failed') === receiver.received.length);
});

function sum(s: EmulatorStats, outcome: 'delivered' | 'failed' | 'dropped'): number {
  return Object.values(s.callbacks).reduce((n, c) => n + c[outcome], 0);
}

async function untilStats(cond: (s: EmulatorStats) => boolean, ms = 20_000): Promise<EmulatorStats> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await emu.stats();
    if (cond(s)) return s;
    if (Date.now() > deadline) throw new Error(`stats never matched: ${JSON.stringify(s.callbacks)}`);
    await sleep(50);
  }
}

/** Per event type, how the callback counters moved since `before`. */
function delta(before: EmulatorStats, now: EmulatorStats): Record<string, { delivered: number; failed: number; dropped: number }> {
  const zero = { delivered: 0, failed: 0, dropped: 0 };
  return Object.fromEntries(
    TYPES.map((t) => {
      const a = before.callbacks[t] ?? zero;
      const b = now.callbacks[t] ?? zero;
      return [t, { delivered: b.delivered - a.delivered, failed: b.failed - a.failed, dropped: b.dropped - a.dropped }];
    }),
  );
}

/** CreateUploadVideo with `userData`, then a multipart upload of 700 kB with its UploadAuth. */
async function uploadVideo(userData?: object): Promise<{ videoId: string; fileName: string; size: number }> {
  const created = await callVod(
    emu,
    'CreateUploadVideo',
    { Title: 'Notified', FileName: 'clip.mp4', ...(userData ? { UserData: JSON.stringify(userData) } : {}) },
    caller,
  );
  const address = JSON.parse(Buffer.from(String(created.UploadAddress), 'base64').toString()) as { Bucket: string; FileName: string };
  const auth = JSON.parse(Buffer.from(String(created.UploadAuth), 'base64').toString()) as {
    AccessKeyId: string;
    AccessKeySecret: string;
    SecurityToken: string;
  };
  const file = path.join(dir, `${randomUUID()}.mp4`);
  writeFileSync(file, randomBytes(700_000));
  const oss = ossClient(
    emu,
    { accessKeyId: auth.AccessKeyId, accessKeySecret: auth.AccessKeySecret, securityToken: auth.SecurityToken },
    { bucket: address.Bucket },
  );
  await oss.multipartUpload(address.FileName, file, { partSize: 200 * 1024, parallel: 2 });
  return { videoId: String(created.VideoId), fileName: address.FileName, size: 700_000 };
}

async function statusOf(videoId: string): Promise<string> {
  return ((await callVod(emu, 'GetVideoInfo', { VideoId: videoId }, caller)) as { Video: { Status: string } }).Video.Status;
}

function assertSigned(c: ReceivedCallback): void {
  const timestamp = String(c.headers['x-vod-timestamp']);
  assert.match(timestamp, /^\d+$/);
  assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 60, 'the timestamp is fresh');
  const expected = createHash('md5').update(`${receiver.origin}${c.path}|${timestamp}|${KEY}`).digest('hex');
  assert.equal(c.headers['x-vod-signature'], expected, 'X-VOD-SIGNATURE = md5(url|timestamp|key)');
  assert.match(String(c.headers['content-type']), /^application\/json/);
}

const of = (videoId: string, eventType?: string) => (c: ReceivedCallback) => c.body.VideoId === videoId && (!eventType || c.body.EventType === eventType);

describe('VOD event notifications', () => {
  test('FileUploadComplete when the object completes, then StreamTranscodeComplete and TranscodeComplete after the processing time, in order, signed, Extend passed through; GetVideoInfo Transcoding then Normal', async () => {
    const extend = { orderId: 'o-42', note: 'ünïcode' };
    const { videoId, fileName, size } = await uploadVideo({ Extend: extend });
    assert.equal(await statusOf(videoId), 'Transcoding', 'processing starts once the object is complete');

    const [upload] = await receiver.waitFor(of(videoId, 'FileUploadComplete'));
    const done = (await receiver.waitFor(of(videoId, 'TranscodeComplete')))[0];
    assert.equal(await statusOf(videoId), 'Normal');

    const events = receiver.received.filter(of(videoId));
    assert.deepEqual(
      events.map((e) => e.body.EventType),
      TYPES,
      'one of each, in order',
    );
    for (const e of events) {
      assertSigned(e);
      assert.equal(e.path, '/vod-events', 'the global callback URL');
      assert.match(String(e.body.EventTime), ISO_SECONDS);
      assert.equal(e.body.Status, 'success');
      assert.equal(e.body.Extend, JSON.stringify(extend), 'Extend comes back as the JSON string VOD sends');
    }
    assert.equal(upload.body.Size, size);
    assert.ok(String(upload.body.FileUrl).endsWith(`/${emu.vodBucket}/${fileName}`), `FileUrl ${String(upload.body.FileUrl)}`);
    assert.ok(done.at - upload.at >= PROCESSING_MS - 200, `transcode events ${done.at - upload.at} ms after the upload event`);

    const stream = events[1].body;
    assert.deepEqual([stream.Definition, stream.Format, stream.Size], ['LD', 'mp4', size]);
    assert.ok(Number(stream.Duration) > 0 && String(stream.FileUrl).startsWith('http'));
    const infos = done.body.StreamInfos as Array<Record<string, unknown>>;
    assert.equal(infos.length, 1);
    assert.deepEqual([infos[0].Status, infos[0].Definition, infos[0].Format], ['success', 'LD', 'mp4']);
  });

  test('a receiver answering 500 twice then 200 gets the same event three times, the next events once; the stats say so', async () => {
    const before = await emu.stats();
    const route = `/flaky/${randomUUID()}`;
    const { videoId } = await uploadVideo({ MessageCallback: { CallbackURL: `${receiver.origin}${route}` } });
    await receiver.waitFor(of(videoId, 'TranscodeComplete'));
    const events = receiver.received.filter(of(videoId));
    assert.ok(
      events.every((e) => e.path === route),
      "the video's own CallbackURL replaces the global one",
    );
    events.forEach(assertSigned);
    assert.deepEqual(
      events.map((e) => [e.body.EventType, e.answered]),
      [
        ['FileUploadComplete', 500],
        ['FileUploadComplete', 500],
        ['FileUploadComplete', 200],
        ['StreamTranscodeComplete', 200],
        ['TranscodeComplete', 200],
      ],
    );
    assert.deepEqual(events[0].body, events[2].body, 'a retry repeats the event');
    const now = await untilStats((s) => delta(before, s).TranscodeComplete.delivered === 1);
    assert.deepEqual(delta(before, now), {
      FileUploadComplete: { delivered: 1, failed: 2, dropped: 0 },
      StreamTranscodeComplete: { delivered: 1, failed: 0, dropped: 0 },
      TranscodeComplete: { delivered: 1, failed: 0, dropped: 0 },
    });
  });

  test('a receiver that always fails gets exactly three tries of each event, in order, then they are dropped', async () => {
    const before = await emu.stats();
    const route = `/down/${randomUUID()}`;
    const { videoId } = await uploadVideo({ MessageCallback: { CallbackURL: `${receiver.origin}${route}` } });
    const now = await untilStats((s) => delta(before, s).TranscodeComplete.dropped === 1);
    const events = receiver.received.filter(of(videoId));
    assert.deepEqual(
      events.map((e) => e.body.EventType),
      TYPES.flatMap((t) => [t, t, t]),
    );
    for (const t of TYPES) assert.deepEqual(delta(before, now)[t], { delivered: 0, failed: 3, dropped: 1 }, t);
    assert.equal(await statusOf(videoId), 'Normal', 'lost notifications do not change the video');
  });

  test('a receiver that does not answer within the timeout fails the try; after three the queue moves on', async () => {
    const before = await emu.stats();
    const route = `/slow/${randomUUID()}`;
    const { videoId } = await uploadVideo({ MessageCallback: { CallbackURL: `${receiver.origin}${route}` } });
    await receiver.waitFor(of(videoId, 'TranscodeComplete'), 1, 30_000);
    const events = receiver.received.filter(of(videoId));
    assert.deepEqual(
      events.map((e) => e.body.EventType),
      ['FileUploadComplete', 'FileUploadComplete', 'FileUploadComplete', 'StreamTranscodeComplete', 'TranscodeComplete'],
    );
    assert.ok(events[1].at - events[0].at >= TIMEOUT_MS, 'the next try waits for the timeout');
    const now = await untilStats((s) => delta(before, s).TranscodeComplete.delivered === 1);
    assert.deepEqual(delta(before, now).FileUploadComplete, { delivered: 0, failed: 3, dropped: 1 });
  });

  test('a Transcode fault rule fails the transcode: Status fail with ErrorCode and ErrorMessage, GetVideoInfo TranscodeFail', async () => {
    const before = await emu.stats();
    await emu.addFaults([{ action: 'Transcode', code: 'TranscodeFailed.Injected', message: 'Injected transcode failure.', times: 1 }]);
    try {
      const { videoId } = await uploadVideo();
      const [done] = await receiver.waitFor(of(videoId, 'TranscodeComplete'));
      const [stream] = await receiver.waitFor(of(videoId, 'StreamTranscodeComplete'));
      assert.equal(done.body.Status, 'fail');
      const infos = done.body.StreamInfos as Array<Record<string, unknown>>;
      assert.deepEqual([infos[0].Status, infos[0].ErrorCode, infos[0].ErrorMessage], ['fail', 'TranscodeFailed.Injected', 'Injected transcode failure.']);
      assert.deepEqual(
        [stream.body.Status, stream.body.ErrorCode, stream.body.ErrorMessage],
        ['fail', 'TranscodeFailed.Injected', 'Injected transcode failure.'],
      );
      assert.equal(await statusOf(videoId), 'TranscodeFail');
      const now = await emu.stats();
      assert.equal((now.faults.Transcode ?? 0) - (before.faults.Transcode ?? 0), 1);
      assert.equal(now.requests.Transcode, undefined, 'a transcode is not a request');

      const { videoId: next } = await uploadVideo();
      const [ok] = await receiver.waitFor(of(next, 'TranscodeComplete'));
      assert.equal(ok.body.Status, 'success', 'times: 1 — the next transcode succeeds');
    } finally {
      await emu.clearFaults();
    }
  });
});
