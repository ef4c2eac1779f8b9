import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ossPolicyRequest } from '../src/oss/authorize.js';
import { popPolicyRequest } from '../src/pop/authorize.js';
import { accountOfRoleArn, evaluatePolicy, matchesPattern, parseSessionPolicy, PolicyGrammarError } from '../src/policy.js';

const policy = (...Statement: object[]) => parseSessionPolicy(JSON.stringify({ Version: '1', Statement }));

describe('matchesPattern: RAM wildcards', () => {
  test('* matches any run, / and : included, possibly empty', () => {
    assert.ok(matchesPattern('acs:oss:*:*:media/acme/*', 'acs:oss:cn-shanghai:1234567890123456:media/acme/x.mp4'));
    assert.ok(matchesPattern('acs:oss:*:*:media/acme/*', 'acs:oss:cn-shanghai:1:media/acme/deep/er/x.mp4'));
    assert.ok(matchesPattern('acs:oss:*:*:media/acme/*', 'acs:oss:r:1:media/acme/'));
    assert.ok(matchesPattern('*', ''));
    assert.ok(matchesPattern('a*b*c', 'aXXbYYbZZc'));
    assert.ok(!matchesPattern('acs:oss:*:*:media/acme/*', 'acs:oss:cn-shanghai:1:media/acmex/x.mp4'));
    assert.ok(!matchesPattern('acs:oss:*:*:media/acme/*', 'acs:oss:cn-shanghai:1:other/acme/x.mp4'));
    assert.ok(!matchesPattern('acs:oss:*:*:media', 'acs:oss:cn-shanghai:1:media/x'), 'a bucket pattern does not cover its objects');
  });

  test('? matches exactly one character (a code point)', () => {
    assert.ok(matchesPattern('clip-?.mp4', 'clip-1.mp4'));
    assert.ok(matchesPattern('clip-?.mp4', 'clip-🎬.mp4'));
    assert.ok(!matchesPattern('clip-?.mp4', 'clip-.mp4'));
    assert.ok(!matchesPattern('clip-?.mp4', 'clip-12.mp4'));
  });

  test('everything else is literal and the whole string must match', () => {
    assert.ok(!matchesPattern('a.c', 'abc'), '. is not a regex dot');
    assert.ok(matchesPattern('a+(b)[c]$^|\\', 'a+(b)[c]$^|\\'));
    assert.ok(!matchesPattern('oss:Get', 'oss:GetObject'));
    assert.ok(!matchesPattern('Object', 'oss:GetObject'));
  });

  test('case: ignored for actions, kept for resources', () => {
    assert.ok(matchesPattern('OSS:putobject', 'oss:PutObject', { ignoreCase: true }));
    assert.ok(!matchesPattern('acs:oss:*:*:media/ACME/*', 'acs:oss:r:1:media/acme/x'));
  });

  test('pathological patterns stay fast', () => {
    const started = Date.now();
    assert.ok(!matchesPattern(`${'*a'.repeat(40)}b`, 'a'.repeat(1000)));
    assert.ok(Date.now() - started < 1000);
  });
});

describe('evaluatePolicy: explicit deny, then allow, else deny', () => {
  const allow = { Effect: 'Allow', Action: 'oss:*', Resource: 'acs:oss:*:*:media/*' };
  const deny = { Effect: 'Deny', Action: 'oss:GetObject', Resource: 'acs:oss:*:*:media/secret/*' };
  const get = (key: string) => ({ action: 'oss:GetObject', resource: `acs:oss:r:1:media/${key}` });

  test('an explicit Deny wins whatever the statement order', () => {
    for (const p of [policy(allow, deny), policy(deny, allow)]) {
      assert.equal(evaluatePolicy(p, get('secret/a')), 'ExplicitDeny');
      assert.equal(evaluatePolicy(p, get('public/a')), 'Allow');
      assert.equal(evaluatePolicy(p, { action: 'oss:PutObject', resource: 'acs:oss:r:1:media/secret/a' }), 'Allow');
    }
  });

  test('nothing matching → ImplicitDeny; an empty Statement allows nothing', () => {
    assert.equal(evaluatePolicy(policy(allow), { action: 'vod:CreateUploadVideo', resource: 'acs:vod:r:1:*' }), 'ImplicitDeny');
    assert.equal(evaluatePolicy(policy(), get('a')), 'ImplicitDeny');
  });

  test('NotAction and NotResource invert their match', () => {
    const p = policy({ Effect: 'Allow', NotAction: 'oss:Delete*', NotResource: 'acs:oss:*:*:media/secret/*' });
    assert.equal(evaluatePolicy(p, get('a')), 'Allow');
    assert.equal(evaluatePolicy(p, get('secret/a')), 'ImplicitDeny');
    assert.equal(evaluatePolicy(p, { action: 'oss:DeleteObject', resource: 'acs:oss:r:1:media/a' }), 'ImplicitDeny');
  });

  test('a Condition the emulator cannot evaluate fails closed', () => {
    const cond = { Condition: { IpAddress: { 'acs:SourceIp': '10.0.0.0/8' } } };
    assert.equal(evaluatePolicy(policy({ ...allow, ...cond }), get('a')), 'ImplicitDeny');
    assert.equal(evaluatePolicy(policy(allow, { ...deny, ...cond }), get('secret/a')), 'ExplicitDeny');
  });
});

describe('parseSessionPolicy grammar', () => {
  const ok = { Effect: 'Allow', Action: 'oss:GetObject', Resource: '*' };
  const bad: Array<[string, unknown]> = [
    ['Version 2', { Version: '2', Statement: [ok] }],
    ['numeric Version', { Version: 1, Statement: [ok] }],
    ['no Statement', { Version: '1' }],
    ['Statement not an array', { Version: '1', Statement: ok }],
    ['lower-case effect', { Version: '1', Statement: [{ ...ok, Effect: 'allow' }] }],
    ['empty Action list', { Version: '1', Statement: [{ ...ok, Action: [] }] }],
    ['empty Action string', { Version: '1', Statement: [{ ...ok, Action: '' }] }],
    ['no Resource', { Version: '1', Statement: [{ Effect: 'Allow', Action: 'oss:*' }] }],
    ['non-string Resource', { Version: '1', Statement: [{ ...ok, Resource: ['*', 1] }] }],
    ['Action and NotAction', { Version: '1', Statement: [{ ...ok, NotAction: 'x:y' }] }],
    ['unknown statement key', { Version: '1', Statement: [{ ...ok, Principal: '*' }] }],
    ['an array', [ok]],
  ];
  for (const [why, doc] of bad) {
    test(`refuses ${why}`, () => {
      assert.throws(() => parseSessionPolicy(JSON.stringify(doc)), PolicyGrammarError);
    });
  }

  test('refuses non-JSON and more than 2048 characters; accepts strings or lists', () => {
    assert.throws(() => parseSessionPolicy('{'), PolicyGrammarError);
    assert.throws(() => parseSessionPolicy(JSON.stringify({ Version: '1', Statement: [{ ...ok, Resource: 'x'.repeat(2048) }] })), PolicyGrammarError);
    assert.deepEqual(parseSessionPolicy(JSON.stringify({ Version: '1', Statement: [ok] })).statements, [
      { effect: 'Allow', action: ['oss:GetObject'], resource: ['*'] },
    ]);
  });
});

describe('RAM names of requests', () => {
  test('OSS operations map to RAM actions; resources are acs:oss:<region>:<account>:<bucket>[/<key>]', () => {
    const req = (action: string, key?: string) => ossPolicyRequest({ action, bucket: 'media', key }, 'cn-shanghai', '42');
    for (const a of ['PutObject', 'InitiateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload']) assert.equal(req(a, 'k').action, 'oss:PutObject');
    assert.equal(req('HeadObject', 'k').action, 'oss:GetObject');
    assert.equal(req('AbortMultipartUpload', 'k').action, 'oss:AbortMultipartUpload');
    assert.equal(req('ListParts', 'k').action, 'oss:ListParts');
    assert.equal(req('DeleteObject', 'k').action, 'oss:DeleteObject');
    assert.deepEqual(req('GetObject', 'a/b.mp4'), { action: 'oss:GetObject', resource: 'acs:oss:cn-shanghai:42:media/a/b.mp4' });
    assert.deepEqual(req('ListObjects'), { action: 'oss:ListObjects', resource: 'acs:oss:cn-shanghai:42:media' });
  });

  test('VOD calls are vod:<Action> on acs:vod:<region>:<account>:*; AssumeRole is sts:AssumeRole on the role', () => {
    const params = new Map([['RoleArn', 'acs:ram::42:role/r']]);
    assert.deepEqual(popPolicyRequest({ service: 'vod', action: 'CreateUploadVideo', params }, 'cn-shanghai', '42'), {
      action: 'vod:CreateUploadVideo',
      resource: 'acs:vod:cn-shanghai:42:*',
    });
    assert.deepEqual(popPolicyRequest({ service: 'sts', action: 'AssumeRole', params }, 'cn-shanghai', '42'), {
      action: 'sts:AssumeRole',
      resource: 'acs:ram::42:role/r',
    });
    assert.equal(accountOfRoleArn('acs:ram::1234567890123456:role/vod-ingest'), '1234567890123456');
  });
});
