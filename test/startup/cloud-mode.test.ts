import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { freePort, REPO_ROOT } from '@vod-ingest/shared/testing';

/**
 * `npm start` with ALIBABA_CLOUD_ACCESS_KEY_ID set talks to Alibaba Cloud; without real role ARNs it
 * must refuse before it starts anything (no Redis, no service, not even its data directory) instead
 * of running the token service with made-up roles.
 */
const runs: Array<{ marker: string; tmp: string }> = [];

/**
 * Live (non-zombie) processes of a run: its marker in their environment, or their working directory
 * in its temp directory (redis-server rewrites its title over its environment, hiding the marker).
 */
function survivors(marker: string, tmp: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const ours =
        readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`VOD_INGEST_TEST_RUN=${marker}`) ||
        (() => {
          try {
            return readlinkSync(`/proc/${pid}/cwd`).startsWith(tmp);
          } catch {
            return false;
          }
        })();
      if (!ours) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') continue;
      found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'latin1').replaceAll('\0', ' ').trim()}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

async function npmStartInCloudMode(arns: Record<string, string>) {
  const marker = randomBytes(8).toString('hex');
  const tmp = mkdtempSync(path.join(tmpdir(), 'vod-ingest-cloud-'));
  runs.push({ marker, tmp });
  // A data directory that does not exist yet: npm start would create it as its first act.
  const dataDir = path.join(tmp, 'data');
  const proc = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      VOD_INGEST_TEST_RUN: marker,
      VOD_INGEST_DATA_DIR: dataDir,
      API_PORT: String(await freePort()),
      TOKEN_PORT: String(await freePort()),
      WORKER_PORT: String(await freePort()),
      EMULATOR_PORT: String(await freePort()),
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5tNotARealKeyForTests',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'not-a-real-secret-for-tests',
      ...arns,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => ((err += d.toString()), (out += d.toString())));
  const exit = await Promise.race([
    new Promise<{ code: number | null }>((resolve) => proc.once('exit', (code) => resolve({ code }))),
    sleep(30_000, undefined, { ref: false }).then(() => undefined),
  ]);
  assert.ok(exit, `npm start did not end; output:\n${out}`);
  return { code: exit.code, out, err, dataDir, marker, tmp };
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
  for (const end = Date.now() + 5_000; survivors(run.marker, run.tmp).length > 0 && Date.now() < end; ) await sleep(100);
  assert.deepEqual(survivors(run.marker, run.tmp), [], 'no process of the run is left');
}

describe('npm start against Alibaba Cloud', () => {
  after(() => {
    for (const run of runs) {
      for (const s of survivors(run.marker, run.tmp)) process.kill(Number(s.split(' ')[0]), 'SIGKILL');
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
