import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '@vod-ingest/shared';
import { apiConfigSchema } from '../../services/api/src/config.js';
import { tokenConfigSchema } from '../../services/token/src/config.js';
import { workerConfigSchema } from '../../services/worker/src/config.js';

// The least each service needs to start, so each case below changes only the Redis settings.
const base = {
  api: { API_KEYS: 'acme:acme-key-0123456789', TOKEN_SERVICE_SECRET: 'service-secret-0123456789' },
  worker: { TOKEN_SERVICE_SECRET: 'service-secret-0123456789' },
  token: {
    TOKEN_SERVICE_SECRET: 'service-secret-0123456789',
    ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5texample',
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'secret',
    ALIBABA_CLOUD_ROLE_ARN: 'acs:ram::1234567890123456:role/ingest',
    CLIENT_ROLE_ARN: 'acs:ram::1234567890123456:role/client',
  },
};
const services = [
  { name: 'api', schema: apiConfigSchema, env: base.api, prefixVar: 'KEY_PREFIX' },
  { name: 'worker', schema: workerConfigSchema, env: base.worker, prefixVar: 'KEY_PREFIX' },
  { name: 'token', schema: tokenConfigSchema, env: base.token, prefixVar: 'TOKEN_KEY_PREFIX' },
] as const;

function problems(schema: (typeof services)[number]['schema'], env: Record<string, string>): string[] {
  try {
    parseConfig(schema, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

for (const s of services) {
  test(`${s.name}: a key prefix without a hash tag is refused at start-up; one with a tag is taken`, () => {
    assert.deepEqual(
      problems(s.schema, { ...s.env, [s.prefixVar]: 'vod-ingest' }).map((p) => p.split(':')[0]),
      [s.prefixVar],
    );
    const c = parseConfig(s.schema, { ...s.env, [s.prefixVar]: 'staging:{vi}' }) as Record<string, unknown>;
    assert.equal(c[s.prefixVar], 'staging:{vi}');
  });

  test(`${s.name}: REDIS_URL alone is one node as before; REDIS_CLUSTER_NODES wins with its password, TLS and NAT map`, () => {
    assert.deepEqual(parseConfig(s.schema, { ...s.env, REDIS_URL: 'redis://r:6390' }).redis, { url: 'redis://r:6390' });
    const c = parseConfig(s.schema, {
      ...s.env,
      REDIS_CLUSTER_NODES: '10.0.0.1:6379,10.0.0.2:6379',
      REDIS_PASSWORD: 'pw',
      REDIS_TLS: '1',
      REDIS_NAT_MAP: '10.0.0.1:6379=r.example.com:16379',
    });
    assert.deepEqual(c.redis, {
      url: 'redis://127.0.0.1:6379',
      clusterNodes: [
        { host: '10.0.0.1', port: 6379 },
        { host: '10.0.0.2', port: 6379 },
      ],
      password: 'pw',
      tls: true,
      natMap: { '10.0.0.1:6379': { host: 'r.example.com', port: 16379 } },
    });
    assert.deepEqual(problems(s.schema, { ...s.env, REDIS_CLUSTER_NODES: 'redis://10.0.0.1:6379' }), [
      'REDIS_CLUSTER_NODES: "redis://10.0.0.1:6379" is not host:port',
    ]);
  });
}
