import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '@vod-ingest/shared';
import { CallbackSender, vodCallbackSignature } from '../src/notify/callback-sender.js';
import { fileUploadComplete, notificationWishes, transcodeEvents } from '../src/notify/vod-events.js';
import { startCallbackReceiver, type CallbackReceiver } from './callback-receiver.js';

const log = createLogger('emulator-test', { level: 'silent' });
const file = { videoId: 'v1', size: 1_000_000, url: 'http://localhost:9100/outin-x/sv/a/a.mp4', extend: '{"k":"v"}' };

describe('notificationWishes: what UserData asks of notifications', () => {
  test('MessageCallback.CallbackURL and Extend (an object becomes its JSON string; a string stays)', () => {
    assert.deepEqual(notificationWishes(JSON.stringify({ MessageCallback: { CallbackURL: 'https://cb.example/vod' }, Extend: { a: 1 } })), {
      callbackUrl: 'https://cb.example/vod',
      extend: '{"a":1}',
    });
    assert.deepEqual(notificationWishes(JSON.stringify({ Extend: '{"raw":true}' })), { extend: '{"raw":true}' });
  });

  test('UserData encoded twice, as the web SDK sends a string it was given, is read too', () => {
    assert.deepEqual(notificationWishes(JSON.stringify(JSON.stringify({ Extend: { b: 2 } }))), { extend: '{"b":2}' });
  });

  test('nothing usable asks for nothing: absent, not JSON, non-http callback', () => {
    assert.deepEqual(notificationWishes(undefined), {});
    assert.deepEqual(notificationWishes('{not json'), {});
    assert.deepEqual(notificationWishes('[1,2]'), {});
    assert.deepEqual(notificationWishes(JSON.stringify({ MessageCallback: { CallbackURL: 'file:///etc/passwd' } })), {});
  });
});

describe('event bodies', () => {
  test('FileUploadComplete carries VideoId, Size, FileUrl, Status success, Extend and a second-precision UTC EventTime', () => {
    const e = fileUploadComplete(file, Date.UTC(2026, 0, 2, 3, 4, 5, 678));
    assert.deepEqual(e, {
      EventTime: '2026-01-02T03:04:05Z',
      EventType: 'FileUploadComplete',
      VideoId: 'v1',
      Size: 1_000_000,
      FileUrl: file.url,
      Status: 'success',
      Extend: '{"k":"v"}',
    });
    assert.equal('Extend' in fileUploadComplete({ ...file, extend: undefined }), false);
  });

  test('a failed transcode: fail with ErrorCode/ErrorMessage on the stream and in StreamInfos', () => {
    const [stream, all] = transcodeEvents(file, { ok: false, code: 'X.Failed', message: 'no' });
    assert.deepEqual(
      [stream.EventType, stream.Status, stream.ErrorCode, stream.ErrorMessage, stream.Definition],
      ['StreamTranscodeComplete', 'fail', 'X.Failed', 'no', 'LD'],
    );
    assert.deepEqual([all.EventType, all.Status, all.Extend], ['TranscodeComplete', 'fail', '{"k":"v"}']);
    assert.equal((all.StreamInfos as Array<{ ErrorCode: string }>)[0].ErrorCode, 'X.Failed');
  });

  test('a successful transcode: the stream lasts size × 8 / bitrate seconds', () => {
    const [stream] = transcodeEvents(file, { ok: true });
    assert.equal(stream.Duration, 8);
    assert.equal(stream.Size, file.size);
  });
});

describe('CallbackSender', () => {
  let receiver: CallbackReceiver;
  before(async () => {
    receiver = await startCallbackReceiver((p, nth) => (p === '/hang' ? 'hang' : p === '/flaky' && nth === 1 ? 502 : 200));
  });
  after(async () => {
    await receiver.close();
  });

  test('X-VOD-SIGNATURE is the lower-case hex MD5 of url|timestamp|key', () => {
    const expected = createHash('md5').update('https://cb.example/x|1700000000|secret').digest('hex');
    assert.equal(vodCallbackSignature('https://cb.example/x', '1700000000', 'secret'), expected);
    assert.match(expected, /^[0-9a-f]{32}$/);
  });

  test('signs each try with a fresh timestamp, retries a failure and counts both', async () => {
    let clock = 1_700_000_000_000;
    const sender = new CallbackSender({ privateKey: 'k', retryMs: 10, log, now: () => (clock += 1000) });
    assert.equal(await sender.deliver(`${receiver.origin}/flaky`, fileUploadComplete(file)), true);
    const tries = receiver.received.filter((r) => r.path === '/flaky');
    assert.equal(tries.length, 2);
    assert.notEqual(tries[0].headers['x-vod-timestamp'], tries[1].headers['x-vod-timestamp']);
    for (const t of tries) {
      assert.equal(t.headers['x-vod-signature'], vodCallbackSignature(`${receiver.origin}/flaky`, String(t.headers['x-vod-timestamp']), 'k'));
    }
    assert.deepEqual(sender.stats(), { FileUploadComplete: { delivered: 1, failed: 1, dropped: 0 } });
  });

  test('without a private key nothing is signed; a hung receiver times out three times, then the event is dropped', async () => {
    const sender = new CallbackSender({ retryMs: 10, timeoutMs: 150, log });
    const started = Date.now();
    assert.equal(await sender.deliver(`${receiver.origin}/hang`, fileUploadComplete(file)), false);
    assert.ok(Date.now() - started >= 3 * 150);
    const tries = receiver.received.filter((r) => r.path === '/hang');
    assert.equal(tries.length, 3);
    assert.equal(tries[0].headers['x-vod-signature'], undefined);
    assert.deepEqual(sender.stats(), { FileUploadComplete: { delivered: 0, failed: 3, dropped: 1 } });
  });
});
