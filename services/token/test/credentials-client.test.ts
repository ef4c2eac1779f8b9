import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TokenServiceCredentials, UnavailableError } from '@vod-ingest/shared';
import { startEmulator, startTestRedis, startTokenService, type TestEmulator, type TestRedis, type TestService } from '@vod-ingest/shared/testing';
import { rejectionOf, sumMetric } from './helpers.js';

let emu: TestEmulator;
let redis: TestRedis;
let token: TestService & { secret: string };
before(async () => {
  [emu, redis] = await Promise.all([startEmulator(), startTestRedis()]);
  token = await startTokenService({ emulator: emu, redisUrl: redis.url });
});
after(async () => {
  await token?.stop();
  await Promise.all([emu?.stop(), redis?.stop()]);
});

const requestsServed = () => sumMetric([token], 'http_request_duration_seconds_count', { route: '/v1/credentials/:profile', status: '200' });

test('keeps the credential in memory and shares one request between concurrent callers', async () => {
  const client = new TokenServiceCredentials({ url: token.url, secret: token.secret, profile: 'ingest' });
  const all = await Promise.all(Array.from({ length: 20 }, () => client.get()));
  assert.equal(new Set(all.map((c) => c.accessKeyId)).size, 1);
  await client.get();
  assert.equal(await requestsServed(), 1, 'one HTTP request for 21 gets');
  assert.equal(await rejectionOf(emu, all[0]), undefined);
});

test('refreshAfterRejection gets a newer credential, not the rejected one again', async () => {
  const client = new TokenServiceCredentials({ url: token.url, secret: token.secret, profile: 'ingest' });
  const first = await client.get();
  const [a, b] = await Promise.all([client.refreshAfterRejection(first), client.refreshAfterRejection(first)]);
  assert.notEqual(a.accessKeyId, first.accessKeyId);
  assert.equal(a.accessKeyId, b.accessKeyId, 'concurrent reports share the replacement');
  assert.equal((await client.get()).accessKeyId, a.accessKeyId);
  // Another process still holding the old one is told the new one, without another AssumeRole.
  const other = new TokenServiceCredentials({ url: token.url, secret: token.secret, profile: 'ingest' });
  const before = (await emu.stats()).requests.AssumeRole;
  assert.equal((await other.refreshAfterRejection(first)).accessKeyId, a.accessKeyId);
  assert.equal((await emu.stats()).requests.AssumeRole, before);
});

test('a wrong secret or an unreachable token service are clear errors', async () => {
  const wrong = new TokenServiceCredentials({ url: token.url, secret: 'nope-nope-nope-nope', profile: 'ingest' });
  await assert.rejects(wrong.get(), (e: { code?: string; status?: number }) => e.code === 'UNAUTHORIZED' && e.status === 502);
  const gone = new TokenServiceCredentials({ url: 'http://127.0.0.1:1', secret: token.secret, profile: 'ingest', timeoutMs: 500 });
  await assert.rejects(gone.get(), (e) => e instanceof UnavailableError && e.code === 'TOKEN_SERVICE_UNAVAILABLE');
});
