import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { type NpmStartRun, spawnNpmStart, survivors } from '../support/npm-start.js';

/**
 * `npm start` with ALIBABA_CLOUD_ACCESS_KEY_ID set talks to Alibaba Cloud; without real role ARNs it
 * must refuse before it starts anything (no Redis, no service, not even its data directory) instead
 * of running the token service with made-up roles.
 */
const runs: NpmStartRun[] = [];

async function npmStartInCloudMode(arns: Record<string, string>) {
  const run = await spawnNpmStart({
    ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5tNotARealKeyForTests',
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'not-a-real-secret-for-tests',
    ...arns,
  });
  runs.push(run);
  const exit = await Promise.race([run.exited, sleep(30_000, undefined, { ref: false }).then(() => undefined)]);
  assert.ok(exit, `npm start did not end; output:\n${run.output()}`);
  return { code: exit.code, out: run.output(), err: run.stderr(), dataDir: run.dataDir, marker: run.marker, tmp: run.tmp };
}

async function refusedBeforeStarting(run: Awaited<ReturnType<typeof npmStartInCloudMode>>, line: RegExp): Promise<void> {
  assert.equal(run.code, 1, run.out);
  const reasons = run.err.split('\n').filter((l) => l.startsWith('vod-ingest did not start:'));
  assert.equal(reasons.length, 1, run.out);
  assert.match(reasons[0], line);
  assert.doesNotMatch(run.out, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
  // Nothing was started: no child's output, no data directory, no process of the run left.
  assert.doesNotMatch(run.out, /^\[(redis|emulator|token|api|worker-\d)\]/m, 'no child process ran');
  assert.doesNotMatch(run.out, /vod-ingest is up/);
  assert.equal(existsSync(run.dataDir), false, 'the data directory was not created');
  for (const end = Date.now() + 5_000; survivors(run).length > 0 && Date.now() < end; ) await sleep(100);
  assert.deepEqual(survivors(run), [], 'no process of the run is left');
}

describe('npm start against Alibaba Cloud', () => {
  after(() => {
    for (const run of runs) {
      for (const s of survivors(run)) process.kill(Number(s.split(' ')[0]), 'SIGKILL');
      rmSync(run.tmp, { recursive: true, force: true });
    }
  });

  it('refuses with one line and exit 1 when the key is set and neither role ARN is', async () => {
    const run = await npmStartInCloudMode({});
    await refusedBeforeStarting(
      run,
      /^vod-ingest did not start: ALIBABA_CLOUD_ACCESS_KEY_ID is set \(Alibaba Cloud mode\) but ALIBABA_CLOUD_ROLE_ARN and CLIENT_ROLE_ARN are not: .*unset ALIBABA_CLOUD_ACCESS_KEY_ID to use the emulator$/,
    );
  });

  it('names the one ARN that is missing (an empty value counts as missing)', async () => {
    const run = await npmStartInCloudMode({ ALIBABA_CLOUD_ROLE_ARN: 'acs:ram::1234567890123456:role/vod-ingest-worker', CLIENT_ROLE_ARN: '' });
    await refusedBeforeStarting(run, /^vod-ingest did not start: ALIBABA_CLOUD_ACCESS_KEY_ID is set \(Alibaba Cloud mode\) but CLIENT_ROLE_ARN is not: /);
  });
});
