import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { freePort, holdPort, startTestRedis, type TestRedis } from '@vod-ingest/shared/testing';
import { type NpmStartRun, spawnNpmStart, survivors } from '../support/npm-start.js';

type Run = NpmStartRun;
const runs: Run[] = [];

async function npmStart(extraEnv: Record<string, string>): Promise<Run> {
  const run = await spawnNpmStart(extraEnv);
  runs.push(run);
  return run;
}

async function noSurvivors(run: Run, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (survivors(run).length > 0 && Date.now() < end) await sleep(100);
  assert.deepEqual(survivors(run), [], `processes of the run left behind; output:\n${run.output()}`);
}

/** npm start failed: exit ≠ 0, the one line saying why, no stack trace, nothing left running. */
async function failedWith(run: Run, line: RegExp): Promise<void> {
  const exit = await Promise.race([run.exited, sleep(60_000, undefined, { ref: false }).then(() => undefined)]);
  assert.ok(exit, `npm start did not end; output:\n${run.output()}`);
  assert.notEqual(exit.code, 0, run.output());
  const reasons = run
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('vod-ingest did not start:'));
  assert.equal(reasons.length, 1, run.output());
  assert.match(reasons[0], line);
  assert.doesNotMatch(run.output(), /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
  assert.doesNotMatch(run.output(), /vod-ingest is up/);
  await noSurvivors(run);
}

describe('npm start', () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startTestRedis();
  });
  after(async () => {
    for (const run of runs) {
      for (const s of survivors(run)) process.kill(Number(s.split(' ')[0]), 'SIGKILL');
      rmSync(run.tmp, { recursive: true, force: true });
    }
    await redis?.stop();
  });

  it('stops everything with one line and exit 1 when the api port is taken', async () => {
    const port = await freePort();
    const holder = await holdPort(port);
    try {
      const run = await npmStart({ REDIS_URL: redis.url, API_PORT: String(port) });
      await failedWith(run, new RegExp(`^vod-ingest did not start: api exited with code 1: api: port ${port} is already in use`));
    } finally {
      holder.close();
    }
  });

  it('stops everything with one line and exit 1 when the token port is taken', async () => {
    const port = await freePort();
    const holder = await holdPort(port);
    try {
      const run = await npmStart({ REDIS_URL: redis.url, TOKEN_PORT: String(port) });
      await failedWith(run, new RegExp(`^vod-ingest did not start: token exited with code 1: token: port ${port} is already in use`));
    } finally {
      holder.close();
    }
  });

  it('stops everything with one line and exit 1 when Redis cannot be reached', async () => {
    const closed = await freePort();
    const run = await npmStart({ REDIS_URL: `redis://127.0.0.1:${closed}` });
    await failedWith(
      run,
      new RegExp(`^vod-ingest did not start: [\\w-]+ exited with code 1: \\w+: cannot reach Redis at redis://127\\.0\\.0\\.1:${closed}: ECONNREFUSED$`),
    );
    // A bounded wait: a handful of lines, not a flood of reconnect errors.
    assert.ok(
      run
        .output()
        .split('\n')
        .filter((l) => l.includes('RedisError')).length <= 8,
      run.output(),
    );
  });

  it('stops everything with one line and exit 1 on a bad setting, after the service lists it', async () => {
    const run = await npmStart({ REDIS_URL: redis.url, API_RATE_LIMIT: 'abc' });
    await failedWith(run, /^vod-ingest did not start: api exited with code 1: api: Invalid configuration/);
    assert.match(run.output(), /\[api\]\s+- API_RATE_LIMIT: /);
  });

  it('starts its own Redis, says "up" once every service is ready, prints the admin token, and stops on SIGTERM to npm', async () => {
    const run = await npmStart({});
    await run.waitFor('vod-ingest is up', 90_000);
    const { ports } = run;
    for (const port of [ports.emulator, ports.token, ports.api, ports.worker, ports.worker + 1]) {
      assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200, `port ${port}`);
    }
    // Its own Redis on a free port (never 6379), its data in the data directory.
    const redisLine = /Redis\s+redis:\/\/127\.0\.0\.1:(\d+)\s+\(its own, data in (.+)\)/.exec(run.output());
    assert.ok(redisLine, run.output());
    assert.notEqual(redisLine[1], '6379');
    assert.equal(redisLine[2], path.join(run.dataDir, 'redis'));
    assert.match(run.output(), /bucket vod-ingest-media/);
    // The queue admin answers with the printed password, which is kept with the other local secrets.
    const admin = /Admin\s+(http:\S+\/admin\/queues)\s+\(user admin, password (\S+);/.exec(run.output());
    assert.ok(admin, run.output());
    assert.equal(JSON.parse(readFileSync(path.join(run.dataDir, 'local-secrets.json'), 'utf8')).adminToken, admin[2]);
    const basic = Buffer.from(`admin:${admin[2]}`).toString('base64');
    assert.equal((await fetch(admin[1], { headers: { authorization: `Basic ${basic}` } })).status, 200);
    assert.equal((await fetch(admin[1])).status, 401);
    assert.match(run.output(), /Demo\s+http:\S+\/demo\//);
    // The long-term RAM key reaches the token service alone.
    const holders = survivors(run)
      .map((line) => ({ cmd: line, env: readFileSync(`/proc/${line.split(' ')[0]}/environ`, 'latin1').split('\0') }))
      .filter((p) => /services\/(token|api|worker)\/src\/main\.ts/.test(p.cmd));
    assert.equal(holders.length, 4, holders.map((h) => h.cmd).join('\n'));
    for (const h of holders) {
      const hasKey = h.env.some((v) => v.startsWith('ALIBABA_CLOUD_ACCESS_KEY_SECRET='));
      assert.equal(hasKey, h.cmd.includes('services/token/'), `${h.cmd}: the RAM key only in the token service`);
    }

    process.kill(run.pid, 'SIGTERM');
    await run.exited;
    await run.waitFor('vod-ingest stopped.', 45_000);
    assert.doesNotMatch(run.output(), /vod-ingest stopped \(exit code/);
    assert.doesNotMatch(run.stderr(), /was killed|stopped with/);
    await noSurvivors(run);
    assert.ok(existsSync(path.join(run.dataDir, 'redis', 'appendonlydir')), 'Redis kept its data in the data directory');
  });
});
