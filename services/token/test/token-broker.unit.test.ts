// The token broker with fakes: an in-memory cache (what Redis holds for it) and a scripted STS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { AlibabaError, type Credential, type Logger } from '@vod-ingest/shared';
import type { RoleProfile } from '../src/profiles.js';
import { TokenBroker, type BrokerTimings } from '../src/token-broker.js';
import type { CachedCredential, TokenCache } from '../src/token-cache.js';
import { createTokenMetrics } from '../src/token.metrics.js';

const HOUR = 3600_000;

class FakeCache {
  readonly entries = new Map<string, CachedCredential>();
  readonly coolDowns = new Map<string, number>();
  readonly locks = new Set<string>();
  async read(profile: string) {
    return this.entries.get(profile);
  }
  async write(profile: string, entry: CachedCredential) {
    this.entries.set(profile, entry);
  }
  async lock(profile: string) {
    if (this.locks.has(profile)) return undefined;
    this.locks.add(profile);
    return async () => {
      this.locks.delete(profile);
    };
  }
  async coolDownLeft(profile: string) {
    return Math.max(0, (this.coolDowns.get(profile) ?? 0) - Date.now());
  }
  async coolDown(profile: string, ms: number) {
    this.coolDowns.set(profile, Date.now() + ms);
  }
}

/** STS that answers each call with the next scripted outcome (an Error is thrown), then credentials. */
class FakeSts {
  calls = 0;
  script: Array<Error | 'ok'> = [];
  gate?: Promise<void>;
  async assumeRole(profile: RoleProfile): Promise<Credential> {
    this.calls++;
    const n = this.calls;
    const next = this.script.shift() ?? 'ok';
    if (this.gate !== undefined) await this.gate;
    if (next instanceof Error) throw next;
    return credential(`STS.${profile.name}.${n}`, Date.now() + HOUR);
  }
}

function credential(accessKeyId: string, expiresAt: number): Credential {
  return { accessKeyId, accessKeySecret: 'secret', securityToken: 'token', expiration: new Date(expiresAt).toISOString(), region: 'cn-shanghai' };
}

const silent = { info() {}, warn() {}, error() {}, debug() {}, child: () => silent } as unknown as Logger;

function setup(timings: Partial<BrokerTimings> = {}) {
  const cache = new FakeCache();
  const sts = new FakeSts();
  const warnings: string[] = [];
  const log = { ...silent, warn: (_o: unknown, msg: string) => warnings.push(msg) } as unknown as Logger;
  const broker = new TokenBroker({
    profiles: { resolve: (name: string) => ({ name, roleArn: 'acs:ram::1:role/ingest', sessionName: 'vod-ingest', durationSeconds: 3600 }) },
    cache: cache as unknown as TokenCache,
    sts,
    log,
    metrics: createTokenMetrics(new Registry(), ['ingest'], () => undefined),
    timings: { safetyMarginMs: 60_000, refreshAheadMs: 300_000, stsAttempts: 3, stsBackoffMs: 1, coolDownMs: 2000, waitForPeerMs: 500, ...timings },
  });
  return { broker, cache, sts, warnings };
}

/** A cached entry issued an hour before it expires, `leftMs` from now. */
const cachedEntry = (id: string, leftMs: number): CachedCredential => {
  const expiresAt = Date.now() + leftMs;
  return { credential: credential(id, expiresAt), issuedAt: expiresAt - HOUR, expiresAt };
};

const ALIBABA_THROTTLED = () => new AlibabaError('Throttling.User', 'Request was denied due to user flow control.', 400, { retryAfterMs: 5000 });
const ALIBABA_DENIED = () => new AlibabaError('NoPermission', 'You are not authorized to do this action.', 403, {});

test('concurrent callers with nothing cached share one AssumeRole', async () => {
  const { broker, sts, cache } = setup();
  let open!: () => void;
  sts.gate = new Promise((r) => (open = r));
  const waiting = Array.from({ length: 10 }, () => broker.get('ingest'));
  await new Promise((r) => setImmediate(r));
  open();
  const got = await Promise.all(waiting);
  assert.equal(sts.calls, 1);
  assert.equal(new Set(got.map((c) => c.accessKeyId)).size, 1);
  assert.equal(cache.entries.get('ingest')?.credential.accessKeyId, got[0]!.accessKeyId);
  await broker.stop();
});

test('a fresh cached credential is served without calling STS', async () => {
  const { broker, sts, cache } = setup();
  cache.entries.set('ingest', cachedEntry('STS.cached', 50 * 60_000));
  assert.equal((await broker.get('ingest')).accessKeyId, 'STS.cached');
  await broker.stop();
  assert.equal(sts.calls, 0);
});

test('refresh ahead: a credential near expiry is served at once and replaced in the background', async () => {
  const { broker, sts, cache } = setup();
  cache.entries.set('ingest', cachedEntry('STS.old', 4 * 60_000)); // under refreshAheadMs, over safetyMarginMs
  const got = await broker.get('ingest');
  assert.equal(got.accessKeyId, 'STS.old');
  await broker.stop(); // waits for the background refresh
  assert.equal(sts.calls, 1);
  assert.equal(cache.entries.get('ingest')?.credential.accessKeyId, 'STS.ingest.1');
  assert.equal((await broker.get('ingest')).accessKeyId, 'STS.ingest.1');
});

test('a credential within the safety margin is never served: the caller waits for a new one', async () => {
  const { broker, sts, cache } = setup();
  cache.entries.set('ingest', cachedEntry('STS.almost-expired', 30_000));
  assert.equal((await broker.get('ingest')).accessKeyId, 'STS.ingest.1');
  assert.equal(sts.calls, 1);
  await broker.stop();
});

test('the cached credential keeps being served while STS fails, and a cool-down is set', async () => {
  const { broker, sts, cache, warnings } = setup();
  cache.entries.set('ingest', cachedEntry('STS.old', 4 * 60_000));
  sts.script = [ALIBABA_THROTTLED(), ALIBABA_THROTTLED(), ALIBABA_THROTTLED()];
  assert.equal((await broker.get('ingest')).accessKeyId, 'STS.old');
  await broker.stop();
  assert.equal(sts.calls, 3, 'retried up to stsAttempts');
  assert.ok((await cache.coolDownLeft('ingest')) > 2000, 'the cool-down honours what STS asked (5 s)');
  assert.equal((await broker.get('ingest')).accessKeyId, 'STS.old');
  await broker.stop();
  assert.equal(sts.calls, 3, 'no STS call during the cool-down');
  assert.ok(warnings.includes('AssumeRoleFailed'));
});

test('with nothing valid cached, an STS refusal is CREDENTIALS_UNAVAILABLE and not retried', async () => {
  const { broker, sts } = setup();
  sts.script = [ALIBABA_DENIED()];
  await assert.rejects(broker.get('ingest'), (err: { code?: string; retryAfterSeconds?: number }) => {
    assert.equal(err.code, 'CREDENTIALS_UNAVAILABLE');
    assert.equal(err.retryAfterSeconds, 2);
    return true;
  });
  assert.equal(sts.calls, 1, 'a non-retryable error is not retried');
});

test('during the cool-down callers with nothing valid fail fast without calling STS', async () => {
  const { broker, sts, cache } = setup();
  await cache.coolDown('ingest', 10_000);
  await assert.rejects(broker.get('ingest'), { code: 'CREDENTIALS_UNAVAILABLE' });
  assert.equal(sts.calls, 0);
});

test('a credential the cloud refused is not handed out again', async () => {
  const { broker, sts, cache } = setup();
  cache.entries.set('ingest', cachedEntry('STS.refused', 50 * 60_000));
  assert.equal((await broker.get('ingest', 'STS.refused')).accessKeyId, 'STS.ingest.1');
  assert.equal(sts.calls, 1);
  await broker.stop();
});

test('while another replica holds the lock, a caller waits for the credential it writes', async () => {
  const { broker, sts, cache } = setup();
  cache.locks.add('ingest'); // a peer is refreshing
  const pending = broker.get('ingest');
  setTimeout(() => cache.entries.set('ingest', cachedEntry('STS.peer', 50 * 60_000)), 120);
  assert.equal((await pending).accessKeyId, 'STS.peer');
  assert.equal(sts.calls, 0);
});

test('a peer that never writes: the wait ends with CREDENTIALS_UNAVAILABLE after waitForPeerMs', async () => {
  const { broker, cache } = setup({ waitForPeerMs: 100 });
  cache.locks.add('ingest');
  await assert.rejects(broker.get('ingest'), { code: 'CREDENTIALS_UNAVAILABLE' });
});
