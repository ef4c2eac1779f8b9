import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { freePort } from '@vod-ingest/shared/testing';
import { cli, type NpmStack, startCli, startNpmStack } from './stack.js';

/**
 * The `vod-ingest` command against `npm start`, both as real processes, as a newcomer would run
 * them: `npx vod-ingest …` from the repository.
 */
describe('vod-ingest CLI against npm start', () => {
  let stack: NpmStack;
  let env: Record<string, string>;
  let local: string;

  before(async () => {
    // Progress events every 50 ms instead of 2 s, so a job of a few seconds shows some.
    stack = await startNpmStack({ PROGRESS_INTERVAL_SECONDS: '0.05' });
    env = { VOD_INGEST_URL: stack.apiUrl, VOD_INGEST_API_KEY: stack.apiKey };
    local = mkdtempSync(path.join(tmpdir(), 'vod-ingest-cli-local-'));
  });

  // A stack that ended under a test is named with its output, not left to show as a failed fetch.
  afterEach(() => {
    const why = stack?.ended();
    if (why) throw new Error(why);
  });

  after(async () => {
    await stack?.stop();
    if (local) rmSync(local, { recursive: true, force: true });
  });

  it('submit --watch of a 100 MiB file shows progress and exits 0 at succeeded', async () => {
    const file = path.join(stack.inbox, 'hundred.mp4');
    writeFileSync(file, Buffer.alloc(100 * 1024 ** 2, 7));
    // A little latency per part, so the job lasts long enough to report progress.
    await stack.admin('PUT', 'faults', { rules: [{ action: 'UploadPart', rate: 1, latencyMs: 20 }] });
    try {
      const r = await cli(['submit', file, '--vod', '--title', 'Hundred', '--part-size', '1MiB', '--parallel', '4', '--watch'], env);
      assert.equal(r.code, 0, r.stderr);
      const id = r.stdout.split('\n')[0];
      assert.match(id, /^job_[0-9a-z]+$/);
      assert.match(r.stdout, new RegExp(`${id} succeeded: video \\w+, .+, 104857600 bytes`));
      const bars = r.stderr
        .split('\n')
        .filter((l) => /^\[[#-]{24}\]\s+\d+%\s+[\d.]+ (MiB|KiB|B) \/ 100\.0 MiB {2}parts \d+\/100 {2}[\d.]+ (MiB|KiB|B)\/s {2}ETA \S+$/.test(l));
      assert.ok(bars.length >= 2, `progress lines expected:\n${r.stderr}`);
      assert.match(bars.at(-1)!, /100%\s+100\.0 MiB \/ 100\.0 MiB {2}parts 100\/100 .* ETA 0s/);
      assert.ok(
        bars.some((l) => !/ 100% /.test(l)),
        `a line before the end expected:\n${r.stderr}`,
      );
      assert.match(r.stderr, /job\.succeeded/);
    } finally {
      await stack.admin('DELETE', 'faults');
    }
  });

  it('submit --watch exits 1 when the job fails, naming the error', async () => {
    const file = path.join(stack.inbox, 'refused.mp4');
    writeFileSync(file, Buffer.alloc(300 * 1024, 1));
    await stack.admin('PUT', 'faults', {
      rules: ['PutObject', 'InitiateMultipartUpload'].map((action) => ({ action, rate: 1, status: 403, code: 'AccessDenied' })),
    });
    try {
      const r = await cli(['submit', file, '--oss', '--bucket', 'vod-ingest-media', '--key', 'cli/refused.mp4', '--watch'], env);
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /^job_\w+ failed: AccessDenied: /m);
      assert.match(r.stderr, /job\.failed: AccessDenied/);
    } finally {
      await stack.admin('DELETE', 'faults');
    }
  });

  it('jobs cancel of a running job: the watching submit exits 1 at canceled', async () => {
    const file = path.join(stack.inbox, 'long.mp4');
    writeFileSync(file, Buffer.alloc(20 * 1024 ** 2, 5));
    await stack.admin('PUT', 'faults', { rules: [{ action: 'UploadPart', rate: 1, latencyMs: 150 }] });
    try {
      const watching = startCli(['submit', file, '--part-size', '1MiB', '--parallel', '1', '--watch'], env);
      for (const end = Date.now() + 30_000; !/job\.started/.test(watching.run.stderr); await sleep(20)) {
        assert.ok(Date.now() < end && watching.run.code === null, `the job did not start: ${watching.run.stderr}`);
      }
      const id = watching.run.stdout.split('\n')[0];
      const cancel = await cli(['jobs', 'cancel', id], env);
      assert.equal(cancel.code, 0, cancel.stderr);
      assert.equal(cancel.stdout, `${id} cancel requested (it stops at a part boundary)\n`);
      const r = await watching.done;
      assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^${id} canceled`, 'm'));
      assert.match(r.stderr, /job\.canceled/);
    } finally {
      await stack.admin('DELETE', 'faults');
    }
  });

  it('an oss target the tenant may not use is refused at once: exit 3, one line, no job', async () => {
    const file = path.join(stack.inbox, 'elsewhere.mp4');
    writeFileSync(file, 'x'.repeat(1000));
    const r = await cli(['submit', file, '--oss', '--bucket', 'someone-elses', '--key', 'a.mp4', '--watch'], env);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^vod-ingest: submit: 403 TARGET_NOT_ALLOWED: .*someone-elses.*\n$/);
  });

  it('jobs list, get and cancel', async () => {
    const file = path.join(stack.inbox, 'listed.mp4');
    writeFileSync(file, Buffer.alloc(200 * 1024, 3));
    const submitted = await cli(['submit', file, '--watch'], env);
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.split('\n')[0];
    const list = await cli(['jobs', 'list', '--limit', '5'], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^${id} {2}succeeded {2}204800/204800 bytes`, 'm'));
    const got = await cli(['jobs', 'get', id], env);
    assert.equal(got.code, 0, got.stderr);
    assert.equal((JSON.parse(got.stdout) as { status: string }).status, 'succeeded');
    const cancel = await cli(['jobs', 'cancel', id], env);
    assert.equal(cancel.code, 3);
    assert.match(cancel.stderr, /409 JOB_FINISHED/);
    const missing = await cli(['jobs', 'get', 'job_0nosuchjob'], env);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /404/);
  });

  it('usage, missing key and an unreachable api each exit with their code and one line', async () => {
    const noKey = await cli(['jobs', 'list'], { VOD_INGEST_URL: stack.apiUrl });
    assert.deepEqual([noKey.code, noKey.stderr], [2, 'vod-ingest: no API key: set VOD_INGEST_API_KEY or pass --api-key\n']);
    const badOption = await cli(['submit', 'a.mp4', '--oss', '--bucket', 'b'], env);
    assert.deepEqual([badOption.code, badOption.stderr], [2, 'vod-ingest: --oss needs --bucket and --key\n']);
    const wrongKey = await cli(['jobs', 'list', '--api-key', 'nope'], env);
    assert.equal(wrongKey.code, 3);
    assert.match(wrongKey.stderr, /401 UNAUTHORIZED/);
    const down = await cli(['jobs', 'list', '--url', `http://127.0.0.1:${await freePort()}`], env);
    assert.equal(down.code, 4);
    assert.match(down.stderr, /^vod-ingest: jobs list: cannot reach the api: ECONNREFUSED\n$/);
    const help = await cli(['--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 .*\n {2}4 /);
  });

  it('upload to oss resumes the same multipart upload after SIGKILL, without re-sending finished parts', async () => {
    const file = path.join(local, 'clip.bin');
    const bytes = Buffer.alloc(30 * 1024 ** 2);
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32BE(i, i);
    writeFileSync(file, bytes);
    const checkpoint = `${file}.vod-ingest-upload.json`;
    const args = [
      'upload',
      file,
      '--oss',
      '--bucket',
      'vod-ingest-media',
      '--key',
      'cli/clip.bin',
      '--part-size',
      '1MiB',
      '--parallel',
      '2',
      '--oss-endpoint',
      stack.emulatorUrl,
    ];
    await stack.admin('DELETE', 'stats');
    await stack.admin('PUT', 'faults', { rules: [{ action: 'UploadPart', rate: 1, latencyMs: 100 }] });
    try {
      const first = startCli(args, env);
      const savedParts = () =>
        existsSync(checkpoint) ? ((JSON.parse(readFileSync(checkpoint, 'utf8')) as { oss?: { doneParts: unknown[] } }).oss?.doneParts.length ?? 0) : 0;
      for (const end = Date.now() + 30_000; savedParts() < 8; await sleep(20)) {
        assert.ok(Date.now() < end && first.run.code === null, `no checkpoint with 8 parts; ${first.run.stderr}`);
      }
      first.proc.kill('SIGKILL');
      const killed = await first.done;
      assert.equal(killed.signal, 'SIGKILL');

      const saved = JSON.parse(readFileSync(checkpoint, 'utf8')) as { uploadId: string; oss: { uploadId: string; doneParts: Array<{ number: number }> } };
      const done = saved.oss.doneParts.length;
      assert.ok(done >= 8 && done < 30, `parts saved: ${done}`);
      const open = (await stack.admin('GET', 'uploads')).uploads as Array<{ uploadId: string; parts: number }>;
      const mpu = open.find((u) => u.uploadId === saved.oss.uploadId);
      assert.ok(mpu && mpu.parts >= done, `the multipart upload ${saved.oss.uploadId} with its parts: ${JSON.stringify(open)}`);
      const sentBefore = ((await stack.admin('GET', 'stats')).requests as Record<string, number>).UploadPart;

      await stack.admin('DELETE', 'stats');
      const second = await cli(args, env);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, new RegExp(`^resuming ${saved.uploadId}: ${done} parts already uploaded$`, 'm'));
      assert.match(second.stdout, new RegExp(`^${saved.uploadId} uploaded: vod-ingest-media/cli/clip.bin, ${bytes.length} bytes$`, 'm'));
      const requests = (await stack.admin('GET', 'stats')).requests as Record<string, number>;
      assert.equal(requests.InitiateMultipartUpload ?? 0, 0, 'the same multipart upload goes on');
      assert.equal(requests.UploadPart, 30 - done, `only the parts not finished are sent (${sentBefore} were sent before the kill)`);
      assert.equal(requests.CompleteMultipartUpload, 1);
      assert.ok(sentBefore + requests.UploadPart <= 30 + 2, 'at most the parts in flight at the kill are sent twice');

      const stored = await stack.objectBytes('vod-ingest-media', 'cli/clip.bin');
      assert.equal(sha256(stored), sha256(bytes));
      assert.equal(existsSync(checkpoint), false, 'the checkpoint is removed once done');
    } finally {
      await stack.admin('DELETE', 'faults');
    }
  });

  it('upload to vod with UploadAuth, refreshed when OSS says it expired: the video holds the file', async () => {
    const file = path.join(local, 'movie.mp4');
    const bytes = Buffer.alloc(3 * 1024 ** 2 + 17, 9);
    writeFileSync(file, bytes);
    // OSS refuses one part as if the UploadAuth had expired: the CLI refreshes it and goes on.
    await stack.admin('DELETE', 'stats');
    await stack.admin('PUT', 'faults', { rules: [{ action: 'UploadPart', rate: 1, times: 1, status: 403, code: 'SecurityTokenExpired' }] });
    const r = await cli(['upload', file, '--vod', '--title', 'From the CLI', '--part-size', '1MiB', '--parallel', '1'], env).finally(() =>
      stack.admin('DELETE', 'faults'),
    );
    assert.equal(r.code, 0, r.stderr);
    const requests = (await stack.admin('GET', 'stats')).requests as Record<string, number>;
    assert.equal(requests.CreateUploadVideo, 1);
    assert.equal(requests.RefreshUploadVideo, 1, JSON.stringify(requests));
    assert.equal(requests.InitiateMultipartUpload, 1, 'the refreshed credential goes on with the same multipart upload');
    assert.equal(requests.UploadPart, 4 + 1);
    const m = /^(upl_\w+) uploaded: video (\w+), (\d+) bytes$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    const videos = (await stack.admin('GET', 'videos')).videos as Array<{ videoId: string; title: string; bucket: string; object: string }>;
    const video = videos.find((v) => v.videoId === m[2]);
    assert.ok(video, JSON.stringify(videos));
    assert.equal(video.title, 'From the CLI');
    assert.equal(sha256(await stack.objectBytes(video.bucket, video.object)), sha256(bytes));
  });
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
