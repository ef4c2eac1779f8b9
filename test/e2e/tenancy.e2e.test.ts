import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import OSS from 'ali-oss';
import { writeTenantsFile } from '@vod-ingest/shared/testing';
import { fileDigest, KEYS, objectDigest, startStack, writeRandomFile, type Stack } from './stack.js';

const MiB = 1024 * 1024;
let stack: Stack;
let clip: string;
let streamLength = 0;

/** acme and globex share one bucket with disjoint prefixes; only acme uses VOD. */
before(async () => {
  stack = await startStack({
    workers: 1,
    tenants: (bucket) => ({ acme: { oss: [{ bucket, prefix: 'acme/' }], vod: true }, globex: { oss: [{ bucket, prefix: 'globex/' }] } }),
  });
  clip = path.join(stack.inbox, 'clip.mp4');
  await writeRandomFile(clip, 3 * MiB);
});
after(() => stack?.stop());

async function api(method: string, p: string, key: string, body?: unknown) {
  const res = await fetch(`${stack.api.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

interface Cred {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken: string;
}

function ossWith(c: Cred, bucket: string): OSS {
  return new OSS({
    endpoint: stack.emu.url,
    sldEnable: true,
    bucket,
    accessKeyId: c.accessKeyId,
    accessKeySecret: c.accessKeySecret,
    stsToken: c.securityToken,
  } as OSS.Options);
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** What a credential can do: inside its prefix put/get/multipart work; anywhere else AccessDenied. */
async function checkScopedToAcme(c: Cred, label: string): Promise<void> {
  const oss = ossWith(c, stack.emu.bucket);
  const bytes = Buffer.from(`${label} bytes`);
  await oss.put(`acme/${label}/small.bin`, bytes);
  assert.deepEqual((await oss.get(`acme/${label}/small.bin`)).content, bytes);
  const big = path.join(stack.inbox, `${label}-multi.bin`);
  await writeRandomFile(big, 600 * 1024);
  await oss.multipartUpload(`acme/${label}/multi.bin`, big, { partSize: 200 * 1024, parallel: 2 });
  assert.equal(await objectDigest(stack.emu, stack.emu.bucket, `acme/${label}/multi.bin`), await fileDigest(big));
  for (const key of [`outside/${label}.bin`, `globex/${label}.bin`, `acme-evil/${label}.bin`, `ACME/${label}.bin`]) {
    assert.equal(await codeOf(oss.put(key, bytes)), 'AccessDenied', `${label}: put ${key}`);
  }
  assert.equal(
    await codeOf(oss.multipartUpload(`globex/${label}-multi.bin`, big, { partSize: 200 * 1024 })),
    'AccessDenied',
    `${label}: multipart into globex/`,
  );
  assert.equal(await codeOf(ossWith(c, stack.emu.vodBucket).put(`sv/${label}.mp4`, bytes)), 'AccessDenied', `${label}: the VOD storage bucket`);
}

describe('tenants own their storage', () => {
  let acmeKey = '';
  let acmeDigest = '';
  let videoKey = '';
  let videoDigest = '';

  test("acme's oss and vod jobs succeed inside its places", async () => {
    const oss = await stack.submit({ source: { type: 'file', path: clip }, target: { type: 'oss', bucket: stack.emu.bucket, key: 'acme/clip.mp4' } });
    assert.equal(oss.status, 202, JSON.stringify(oss.body));
    const vod = await stack.submit({ source: { type: 'file', path: clip }, target: { type: 'vod', title: 'acme clip' } });
    assert.equal(vod.status, 202, JSON.stringify(vod.body));
    for (const id of [oss.body.id, vod.body.id]) assert.equal((await stack.waitFor(id)).status, 'succeeded');
    acmeKey = 'acme/clip.mp4';
    acmeDigest = await objectDigest(stack.emu, stack.emu.bucket, acmeKey);
    assert.equal(acmeDigest, await fileDigest(clip));
    const v = (await stack.job(vod.body.id)).result!;
    videoKey = v.key;
    videoDigest = await objectDigest(stack.emu, v.bucket, v.key);
    streamLength = (await stack.streamEvents()).length;
  });

  test("globex's jobs into acme's prefix or the VOD bucket: 403 TARGET_NOT_ALLOWED, nothing recorded, acme's media unchanged", async () => {
    const other = path.join(stack.inbox, 'hostile.mp4');
    writeFileSync(other, Buffer.alloc(256 * 1024, 7));
    const attempts = [
      { type: 'oss', bucket: stack.emu.bucket, key: acmeKey },
      { type: 'oss', bucket: stack.emu.bucket, key: 'acme/new.mp4' },
      { type: 'oss', bucket: stack.emu.bucket, key: 'elsewhere.mp4' },
      { type: 'oss', bucket: stack.emu.vodBucket, key: videoKey },
      { type: 'oss', bucket: 'some-other-bucket', key: 'globex/x.mp4' },
      { type: 'vod', title: 'globex may not use VOD' },
    ];
    for (const target of attempts) {
      const r = await stack.submit({ source: { type: 'file', path: other }, target }, { key: KEYS.globex });
      assert.equal(r.status, 403, `${JSON.stringify(target)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error?.code, 'TARGET_NOT_ALLOWED');
    }
    // acme may not write to the VOD storage bucket either.
    const own = await stack.submit({ source: { type: 'file', path: other }, target: { type: 'oss', bucket: stack.emu.vodBucket, key: videoKey } });
    assert.equal(own.status, 403);
    const list = await api('GET', '/v1/jobs', KEYS.globex);
    assert.deepEqual(list.body.jobs, [], 'nothing recorded for globex');
    assert.equal((await stack.streamEvents()).length, streamLength, 'no event for a refused job');
    assert.equal(await objectDigest(stack.emu, stack.emu.bucket, acmeKey), acmeDigest);
    assert.equal(await objectDigest(stack.emu, stack.emu.vodBucket, videoKey), videoDigest);
  });

  test("acme's client credential from /v1/sts-tokens reaches acme/ only", async () => {
    const r = await api('POST', '/v1/sts-tokens', KEYS.acme);
    assert.equal(r.status, 200);
    const globex = await api('POST', '/v1/sts-tokens', KEYS.globex);
    assert.notEqual(globex.body.AccessKeyId, r.body.AccessKeyId, 'tenants never share a credential');
    await checkScopedToAcme({ accessKeyId: r.body.AccessKeyId, accessKeySecret: r.body.AccessKeySecret, securityToken: r.body.SecurityToken }, 'client');
  });

  test("the worker's ingest credential for acme reaches acme/ only", async () => {
    const res = await fetch(`${stack.token.url}/v1/credentials/ingest?tenant=acme`, { headers: { authorization: `Bearer ${stack.token.secret}` } });
    assert.equal(res.status, 200);
    await checkScopedToAcme((await res.json()) as Cred, 'ingest');
  });

  test('/v1/vod/upload-auth: 200 for a VOD tenant, 403 for one without', async () => {
    const body = { title: 'app upload', fileName: 'app.mp4' };
    const ok = await api('POST', '/v1/vod/upload-auth', KEYS.acme, body);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const refused = await api('POST', '/v1/vod/upload-auth', KEYS.globex, body);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'TARGET_NOT_ALLOWED');
  });

  test('the worker checks again before the first byte: a job its tenants file no longer allows fails at once, nothing written', async () => {
    await Promise.all(stack.workers.splice(0).map((w) => w.proc.stop(15_000)));
    const r = await stack.submit({ source: { type: 'file', path: clip }, target: { type: 'oss', bucket: stack.emu.bucket, key: 'acme/late.mp4' } });
    assert.equal(r.status, 202);
    const narrowed = writeTenantsFile({ acme: { oss: [{ bucket: stack.emu.bucket, prefix: 'acme/archive/' }], vod: true } });
    await stack.startWorker({ TENANTS_FILE: narrowed });
    const job = await stack.waitFor(r.body.id);
    assert.equal(job.status, 'failed');
    assert.deepEqual([job.error?.code, job.error?.retryable, job.attempts], ['TARGET_NOT_ALLOWED', false, 1]);
    assert.equal(await codeOf(objectDigest(stack.emu, stack.emu.bucket, 'acme/late.mp4')), 'NoSuchKey');
  });
});
