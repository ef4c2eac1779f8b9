import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startEmulator, type TestEmulator } from '@vod-ingest/shared/testing';
import { assumeRole, ossClient, type StsCredentials } from './sdk.js';

type Err = { code?: string; status?: number; statusCode?: number; name?: string };

let emu: TestEmulator;
let creds: StsCredentials;
before(async () => {
  emu = await startEmulator();
  creds = await assumeRole(emu);
});
after(async () => {
  await emu?.stop();
});
beforeEach(async () => {
  await emu.clearFaults();
  await emu.resetStats();
});

describe('inspection', () => {
  test('counts requests per action', async () => {
    const oss = ossClient(emu, creds);
    await oss.put('count/a', Buffer.from('a'));
    await oss.put('count/b', Buffer.from('b'));
    await oss.head('count/a');
    await assumeRole(emu);
    const { requests } = await emu.stats();
    assert.equal(requests.PutObject, 2);
    assert.equal(requests.HeadObject, 1);
    assert.equal(requests.AssumeRole, 1);
    await emu.resetStats();
    assert.deepEqual((await emu.stats()).requests, {});
  });

  test('lists stored objects and VOD videos', async () => {
    const oss = ossClient(emu, creds);
    await oss.put('listed/one', Buffer.from('12345'));
    const { objects } = await emu.admin<{ objects: Array<{ key: string; size: number; crc64: string }> }>('GET', `objects?bucket=${emu.bucket}`);
    const one = objects.find((o) => o.key === 'listed/one');
    assert.equal(one?.size, 5);
    assert.ok(one?.crc64);
  });
});

describe('fault injection', () => {
  test('status codes with proper OSS error bodies, only for the named action', async () => {
    await emu.addFaults([{ action: 'PutObject', status: 503, code: 'ServiceUnavailable', message: 'Please reduce your request rate.' }]);
    const oss = ossClient(emu, creds);
    await assert.rejects(oss.put('f/503', Buffer.from('x')), (e: Err) => e.code === 'ServiceUnavailable' && e.status === 503);
    await oss.head('f/503').catch((e: Err) => assert.equal(e.code, 'NoSuchKey', 'HeadObject is untouched'));
    assert.equal((await emu.stats()).faults.PutObject, 1);
  });

  test('times: the first N requests fail, then the action works again', async () => {
    await emu.addFaults([{ action: 'PutObject', status: 500, code: 'InternalError', times: 2 }]);
    const oss = ossClient(emu, creds);
    await assert.rejects(oss.put('f/times', Buffer.from('x')), (e: Err) => e.status === 500 && e.code === 'InternalError');
    await assert.rejects(oss.put('f/times', Buffer.from('x')), (e: Err) => e.status === 500);
    const ok = await oss.put('f/times', Buffer.from('x'));
    assert.equal(ok.res.status, 200);
  });

  test('rate: about that share of requests fail', async () => {
    await emu.addFaults([{ action: 'HeadObject', rate: 0.5, status: 503, code: 'ServiceUnavailable' }]);
    const oss = ossClient(emu, creds);
    await oss.put('f/rate', Buffer.from('x'));
    let failed = 0;
    for (let i = 0; i < 60; i++) {
      await oss.head('f/rate').catch(() => failed++);
    }
    assert.ok(failed > 10 && failed < 50, `about half of 60 failed (got ${failed})`);
    assert.equal((await emu.stats()).faults.HeadObject, failed);
  });

  test('latency slows requests down and lets them through', async () => {
    await emu.addFaults([{ action: 'PutObject', latencyMs: 400 }]);
    const oss = ossClient(emu, creds);
    const t0 = Date.now();
    await oss.put('f/slow', Buffer.from('x'));
    assert.ok(Date.now() - t0 >= 380, 'waited the injected latency');
  });

  test('dropped connections surface as network errors', async () => {
    await emu.addFaults([{ action: 'PutObject', drop: true, times: 1 }]);
    const oss = ossClient(emu, creds);
    await assert.rejects(oss.put('f/drop', Buffer.from('x')), (e: Err) => e.status === -1 || /socket hang up|ECONNRESET/i.test(String((e as Error).message)));
    assert.equal((await oss.put('f/drop', Buffer.from('x'))).res.status, 200);
  });

  test('AssumeRole throttling surfaces as the SDK ThrottlingError with Throttling.User', async () => {
    await emu.addFaults([
      { action: 'AssumeRole', status: 400, code: 'Throttling.User', message: 'Request was denied due to user flow control.', retryAfterSeconds: 2 },
    ]);
    await assert.rejects(assumeRole(emu), (e: Err & { retryAfter?: number }) => {
      assert.equal(e.code, 'Throttling.User');
      assert.equal(e.name, 'ThrottlingError');
      assert.equal(e.retryAfter, 2000);
      return true;
    });
    await emu.clearFaults();
    assert.match((await assumeRole(emu)).accessKeyId, /^STS\./);
  });

  test('bad rules are refused', async () => {
    await assert.rejects(emu.admin('POST', 'faults', { rules: [{ action: 'PutObject' }] }), /400/);
    await assert.rejects(emu.admin('POST', 'faults', { rules: [{ action: 'PutObject', rate: 2, status: 500 }] }), /400/);
  });
});

describe('admin API is off unless EMULATOR_ADMIN=1', () => {
  test('without it, the admin paths are plain (refused) OSS requests and no fault can be set', async () => {
    const closed = await startEmulator({ admin: false });
    try {
      for (const [method, route] of [
        ['GET', 'stats'],
        ['POST', 'faults'],
        ['GET', 'objects?bucket=x'],
      ]) {
        const res = await fetch(`${closed.url}/__emulator/${route}`, {
          method,
          body: method === 'POST' ? '{"rules":[{"action":"*","status":500}]}' : undefined,
        });
        assert.equal(res.status, 403, `${method} ${route}`);
        assert.match(await res.text(), /<Code>AccessDenied<\/Code>/);
      }
      const c = await assumeRole(closed);
      assert.equal((await ossClient(closed, c).put('still/works', Buffer.from('x'))).res.status, 200);
    } finally {
      await closed.stop();
    }
  });
});
