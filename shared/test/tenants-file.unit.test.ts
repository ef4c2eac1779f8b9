import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readTenantsFile, sessionPolicy, Tenants, checkJobTarget } from '../src/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'tenants-file-'));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};
const hex = 'a'.repeat(64);

test('JSON and YAML give the same tenants; vod: true is VOD with its defaults', () => {
  const json = write(
    't.json',
    JSON.stringify({
      tenants: { acme: { apiKeys: [`sha256:${hex}`], oss: [{ bucket: 'media', prefix: 'acme/' }], vod: true, origins: ['https://app.example.com'] } },
    }),
  );
  const yaml = write(
    't.yaml',
    `tenants:\n  acme:\n    apiKeys: ["sha256:${hex}"]\n    oss:\n      - { bucket: media, prefix: acme/ }\n    vod: true\n    origins: [https://app.example.com]\n`,
  );
  const a = readTenantsFile(json);
  const b = readTenantsFile(yaml);
  assert.deepEqual(a.problems, []);
  assert.deepEqual(a, b);
  assert.deepEqual(a.tenants[0].vod, {});
  assert.equal(a.tenants[0].apiKeys[0].toString('hex'), hex);
});

test('every problem of the file is listed at once, naming where it is', () => {
  const file = write(
    'bad.json',
    JSON.stringify({
      tenants: {
        'bad name!': {},
        a: {
          apiKeys: ['plain-key'],
          oss: [
            { bucket: 'outin-123', prefix: '' },
            { bucket: 'media', prefix: 'x*' },
          ],
          origins: ['https://app.example.com/path'],
          vod: 'yes',
        },
      },
    }),
  );
  const { problems } = readTenantsFile(file);
  for (const where of [
    'tenants.bad name!',
    'tenants.a.apiKeys.0',
    'tenants.a.oss.0.bucket',
    'tenants.a.oss.1.prefix',
    'tenants.a.origins.0',
    'tenants.a.vod',
  ]) {
    assert.ok(
      problems.some((p) => p.startsWith(where)),
      `${where} in ${JSON.stringify(problems)}`,
    );
  }
});

test("one tenant's place inside another's, a key given twice, a VOD storage location used as OSS: refused", () => {
  const file = write(
    'overlap.json',
    JSON.stringify({
      tenants: {
        a: { apiKeys: [`sha256:${hex}`], oss: [{ bucket: 'media', prefix: 'a' }] },
        b: {
          apiKeys: [`sha256:${hex}`],
          oss: [
            { bucket: 'media', prefix: 'ab/' },
            { bucket: 'vodstore', prefix: 'x/' },
          ],
        },
        c: { vod: { storageLocations: ['vodstore.oss-cn-shanghai.aliyuncs.com'] } },
      },
    }),
  );
  const { problems } = readTenantsFile(file);
  assert.equal(problems.length, 3, JSON.stringify(problems));
  assert.match(problems.join('\n'), /overlaps tenant b's media\/ab\//);
  assert.match(problems.join('\n'), /a key of tenant a is given again/);
  assert.match(problems.join('\n'), /vodstore is a VOD storage location/);
  assert.match(readTenantsFile(path.join(dir, 'missing.json')).problems[0], /cannot read/);
});

test('session policy: the OSS places and VOD upload actions, deny-all for a tenant with nothing', () => {
  const policy = JSON.parse(
    sessionPolicy({
      oss: [
        { bucket: 'media', prefix: 'acme/' },
        { bucket: 'raw', prefix: '' },
      ],
      vod: {},
    }),
  );
  assert.deepEqual(policy.Statement[0].Resource, ['acs:oss:*:*:media/acme/*', 'acs:oss:*:*:raw/*']);
  assert.deepEqual(policy.Statement[1].Action, ['vod:CreateUploadVideo', 'vod:RefreshUploadVideo']);
  assert.deepEqual(JSON.parse(sessionPolicy({ oss: [], vod: false })).Statement, [{ Effect: 'Deny', Action: ['*'], Resource: ['*'] }]);
});

test('targets: inside a place passes; outside, the VOD bucket, VOD without a grant or with an unlisted workflow: TARGET_NOT_ALLOWED', () => {
  const file = write(
    't2.json',
    JSON.stringify({
      tenants: { acme: { oss: [{ bucket: 'media', prefix: 'acme/' }], vod: { workflowIds: ['wf1'] } }, oss_only: { oss: [{ bucket: 'other', prefix: '' }] } },
    }),
  );
  const tenants = new Tenants(readTenantsFile(file).tenants);
  const acme = tenants.get('acme');
  checkJobTarget(acme, { type: 'oss', bucket: 'media', key: 'acme/x.mp4' });
  checkJobTarget(acme, { type: 'vod', title: 't', workflowId: 'wf1' });
  const refused = (t: Parameters<typeof checkJobTarget>[1], tenant = acme) =>
    assert.throws(() => checkJobTarget(tenant, t), { code: 'TARGET_NOT_ALLOWED', status: 403 });
  refused({ type: 'oss', bucket: 'media', key: 'acmex/x.mp4' });
  refused({ type: 'oss', bucket: 'other', key: 'x.mp4' });
  refused({ type: 'oss', bucket: 'outin-abc', key: 'sv/x.mp4' });
  refused({ type: 'vod', title: 't', workflowId: 'wf2' });
  refused({ type: 'vod', title: 't' }, tenants.get('oss_only'));
  // A name the file does not know is an API_KEYS tenant: VOD, no OSS.
  checkJobTarget(tenants.get('stranger'), { type: 'vod', title: 't' });
  refused({ type: 'oss', bucket: 'media', key: 'acme/x.mp4' }, tenants.get('stranger'));
});
