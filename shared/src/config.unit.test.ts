import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { ConfigError, env, hashTagOf, parseConfig, parseHostPort, redisEnv, redisTarget } from './config.js';

const schema = z
  .object({ REDIS_URL: z.string().default('redis://127.0.0.1:6379'), ...redisEnv, KEY_PREFIX: env.keyPrefix('{vod-ingest}') })
  .transform((c, ctx) => ({ ...c, redis: redisTarget(c, ctx) }));

const problemsOf = (vars: Record<string, string>): string[] => {
  try {
    parseConfig(schema, vars);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('hash tags', () => {
  test('the text between the first { and the first } after it, when not empty', () => {
    assert.equal(hashTagOf('{vod-ingest}'), 'vod-ingest');
    assert.equal(hashTagOf('staging:{vod-ingest}:v2'), 'vod-ingest');
    assert.equal(hashTagOf('{a}{b}'), 'a');
    assert.equal(hashTagOf('vod-ingest'), undefined);
    assert.equal(hashTagOf('{}vod-ingest'), undefined); // Redis hashes the whole key then
    assert.equal(hashTagOf('{vod-ingest'), undefined);
    assert.equal(hashTagOf('}x{'), undefined);
  });

  test('a KEY_PREFIX without one is refused, naming the variable and why', () => {
    for (const bad of ['vod-ingest', '{}', 'vod-{ingest']) {
      const problems = problemsOf({ KEY_PREFIX: bad });
      assert.equal(problems.length, 1, bad);
      assert.match(problems[0], /^KEY_PREFIX: must carry a Redis Cluster hash tag such as \{vod-ingest\}/);
    }
    assert.equal(parseConfig(schema, {}).KEY_PREFIX, '{vod-ingest}');
    assert.equal(parseConfig(schema, { KEY_PREFIX: 'prod:{vi}' }).KEY_PREFIX, 'prod:{vi}');
  });
});

describe('Redis target', () => {
  test('host:port, IPv6 in brackets; anything else is undefined', () => {
    assert.deepEqual(parseHostPort('10.0.0.5:7000'), { host: '10.0.0.5', port: 7000 });
    assert.deepEqual(parseHostPort(' redis-0.redis.svc:6379 '), { host: 'redis-0.redis.svc', port: 6379 });
    assert.deepEqual(parseHostPort('[fd00::1]:6380'), { host: 'fd00::1', port: 6380 });
    for (const bad of ['redis', 'redis:', ':6379', 'redis:0', 'redis:65536', 'fd00::1:6380', 'redis://h:1', 'a b:1']) {
      assert.equal(parseHostPort(bad), undefined, bad);
    }
  });

  test('REDIS_URL alone: one node, as before', () => {
    assert.deepEqual(parseConfig(schema, {}).redis, { url: 'redis://127.0.0.1:6379' });
    assert.deepEqual(parseConfig(schema, { REDIS_URL: 'rediss://:pw@r:6380/2' }).redis, { url: 'rediss://:pw@r:6380/2' });
  });

  test('REDIS_CLUSTER_NODES wins, with password, user, TLS and NAT map', () => {
    const c = parseConfig(schema, {
      REDIS_URL: 'redis://ignored:6379',
      REDIS_CLUSTER_NODES: 'r-1.example.com:6379, r-2.example.com:6379,,',
      REDIS_USERNAME: 'vod',
      REDIS_PASSWORD: 'p@ss:word',
      REDIS_TLS: '1',
      REDIS_NAT_MAP: '10.0.0.1:6379=203.0.113.1:16379,10.0.0.2:6379=203.0.113.2:16379',
    });
    assert.deepEqual(c.redis, {
      url: 'redis://ignored:6379',
      clusterNodes: [
        { host: 'r-1.example.com', port: 6379 },
        { host: 'r-2.example.com', port: 6379 },
      ],
      username: 'vod',
      password: 'p@ss:word',
      tls: true,
      natMap: { '10.0.0.1:6379': { host: '203.0.113.1', port: 16379 }, '10.0.0.2:6379': { host: '203.0.113.2', port: 16379 } },
    });
  });

  test('empty REDIS_PASSWORD and REDIS_CLUSTER_NODES count as unset', () => {
    assert.deepEqual(parseConfig(schema, { REDIS_CLUSTER_NODES: '', REDIS_PASSWORD: '', REDIS_USERNAME: '' }).redis, { url: 'redis://127.0.0.1:6379' });
  });

  test('malformed seeds and NAT entries are listed, each one; a NAT map needs a cluster', () => {
    assert.deepEqual(problemsOf({ REDIS_CLUSTER_NODES: 'a:1,b,c:99999' }), [
      'REDIS_CLUSTER_NODES: "b" is not host:port',
      'REDIS_CLUSTER_NODES: "c:99999" is not host:port',
    ]);
    assert.deepEqual(problemsOf({ REDIS_CLUSTER_NODES: 'a:1', REDIS_NAT_MAP: '10.0.0.1:6379=x:1=y:2,10.0.0.2:6379,h:1=k:2' }), [
      'REDIS_NAT_MAP: "10.0.0.1:6379=x:1=y:2" is not internal-host:port=external-host:port',
      'REDIS_NAT_MAP: "10.0.0.2:6379" is not internal-host:port=external-host:port',
    ]);
    assert.deepEqual(problemsOf({ REDIS_NAT_MAP: '10.0.0.1:6379=203.0.113.1:16379' }), [
      'REDIS_NAT_MAP: maps cluster node addresses: set REDIS_CLUSTER_NODES too',
    ]);
    assert.deepEqual(problemsOf({ REDIS_TLS: 'maybe' }).length, 1);
  });
});
