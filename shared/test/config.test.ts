import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import { ConfigError, env, parseConfig } from '../src/config.js';
import { REPO_ROOT } from '../src/testing/service-process.js';

const schema = z.object({
  PORT: env.port(3000),
  WORKERS: env.int(2, 1, 64),
  ENABLED: env.bool(false),
  HOSTS: env.list(['a']),
  NAME: z.string().min(3),
});

test('parses and applies defaults', () => {
  const c = parseConfig(schema, { NAME: 'abc', ENABLED: '1', HOSTS: 'x, y,,z' });
  assert.deepEqual(c, { PORT: 3000, WORKERS: 2, ENABLED: true, HOSTS: ['x', 'y', 'z'], NAME: 'abc' });
});

test('lists every problem at once', () => {
  try {
    parseConfig(schema, { PORT: 'http', WORKERS: '0', ENABLED: 'maybe' });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const names = err.problems.map((p) => p.split(':')[0]).sort();
    assert.deepEqual(names, ['ENABLED', 'NAME', 'PORT', 'WORKERS']);
  }
});

test('a service with a bad environment prints all problems and exits 1', () => {
  const main = path.join(REPO_ROOT, 'services/emulator/dist/main.js');
  const r = spawnSync(process.execPath, [main], {
    env: { PATH: process.env.PATH, EMULATOR_PORT: 'abc', EMULATOR_ACCESS_KEY_SECRET: 'short', EMULATOR_ADMIN: 'perhaps' },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 1);
  for (const name of ['EMULATOR_PORT', 'EMULATOR_ACCESS_KEY_SECRET', 'EMULATOR_ADMIN']) assert.match(r.stderr, new RegExp(name));
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
});
