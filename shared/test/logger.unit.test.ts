import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger, safeUrl } from '../src/logger.js';

const LOGGER = fileURLToPath(new URL('../src/logger.ts', import.meta.url));

/** The JSON log lines in `text`. */
const linesOf = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg: string; i?: number });

/**
 * Runs `script` (ESM, with `createLogger` imported and `writes()` counting the write(2) calls on
 * stdout so far) in a child process; resolves with its stdout and its stderr.
 */
function runLogging(script: string): Promise<{ stdout: string; stderr: string }> {
  const code = `import fs from 'node:fs';
import { createLogger } from ${JSON.stringify(LOGGER)};
const writeSync = fs.writeSync;
let count = 0;
fs.writeSync = (fd, ...rest) => (fd === 1 && count++, writeSync(fd, ...rest));
const writes = () => count;
${script}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
}

function capture() {
  let out = '';
  const destination = new Writable({
    write(chunk, _enc, cb) {
      out += chunk.toString();
      cb();
    },
  });
  return { destination, text: () => out };
}

test('secrets are redacted wherever they sit in a logged object', async () => {
  const sink = capture();
  const log = createLogger('test', { destination: sink.destination });
  const secrets = ['ak-secret-1', 'sts-token-2', 'Bearer api-key-3', 'oss-token-4', 'upload-auth-5', 'whsec_6'];
  log.info({ AccessKeySecret: secrets[0], credentials: { SecurityToken: secrets[1] } }, 'CredentialIssued');
  log.info({ req: { headers: { authorization: secrets[2], 'x-oss-security-token': secrets[3] } } }, 'Request');
  log.info({ body: { UploadAuth: secrets[4] }, webhookSecret: secrets[5] }, 'Other');
  await new Promise((r) => setImmediate(r));
  const text = sink.text();
  for (const s of secrets) assert.ok(!text.includes(s), `${s} must not be logged`);
  assert.equal((text.match(/\[REDACTED\]/g) ?? []).length, secrets.length);
  const first = JSON.parse(text.split('\n')[0]);
  assert.equal(first.msg, 'CredentialIssued');
  assert.equal(first.service, 'test');
});

test('safeUrl drops user info and query', () => {
  assert.equal(safeUrl('https://user:pw@example.com/a?token=x'), 'https://example.com/a?[REDACTED]');
  assert.equal(safeUrl('not a url'), '[unparseable url]');
});

test('stdout gets lines in batches: what one moment logs goes out in one write, 50 ms later at most', async () => {
  const { stdout, stderr } = await runLogging(`const log = createLogger('t');
for (let i = 0; i < 20; i++) log.info({ i }, 'Line');
const logged = writes();
await new Promise((r) => setTimeout(r, 300));
console.error(JSON.stringify({ logged, later: writes() }));
log.info('Later');`);
  // Nothing written as the lines were logged; one write for all twenty before the next line (its timer), one for the last.
  assert.deepEqual(JSON.parse(stderr), { logged: 0, later: 1 });
  const lines = linesOf(stdout);
  assert.deepEqual(
    lines.map((l) => l.i ?? l.msg),
    [...Array(20).keys(), 'Later'],
  );
});

test('a batch of 4 KiB goes out at once; what is held is written when the process exits', async () => {
  // 100 lines of ~200 bytes: written in 4 KiB batches as they are logged, the rest at process.exit.
  const { stdout, stderr } = await runLogging(`const log = createLogger('t');
for (let i = 0; i < 100; i++) log.info({ i, pad: 'x'.repeat(120) }, 'Line');
log.info('Last');
console.error(writes());
process.exit(0);`);
  const before = Number(stderr);
  assert.ok(before >= 4 && before <= 6, `~20 KB in 4 KiB batches: ${before} writes`);
  const lines = linesOf(stdout);
  assert.deepEqual(
    lines.map((l) => l.i ?? l.msg),
    [...Array(100).keys(), 'Last'],
  );
});

/** Spawns `script` with `createLogger` imported and stdin open, closes the child's stdout (its reader is gone), then writes a line to its stdin; resolves with its exit code (null when it had to be killed after 10 s). */
async function exitWithStdoutGone(script: string): Promise<{ exitCode: number | null; stderr: string }> {
  const code = `import { createLogger } from ${JSON.stringify(LOGGER)};
const log = createLogger('t');
${script}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout.destroy();
  child.stdin.write('stop\n');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const exitCode = await exited;
  clearTimeout(timer);
  return { exitCode, stderr };
}

test('a process whose stdout reader is gone still exits: its lines are dropped, not retried forever', async () => {
  // A supervisor that died (or a log pipe that closed) leaves stdout a broken pipe: lines still
  // held at exit must not keep the process alive (sonic-boom 4's flushSync retries EPIPE forever).
  const atExit = await exitWithStdoutGone(`process.stdin.once('data', () => {
  log.info('ShutdownStarted');
  process.exit(0);
});`);
  assert.equal(atExit.exitCode, 0, `lines held at exit: the process did not exit by itself in 10 s: ${atExit.stderr}`);
  // The pipe broke under a batch written while running: later lines are dropped too.
  const running = await exitWithStdoutGone(`process.stdin.once('data', async () => {
  log.info('Running');
  await new Promise((r) => setTimeout(r, 200));
  log.info('ShutdownStarted');
  process.exit(0);
});`);
  assert.equal(running.exitCode, 0, `a batch that met the broken pipe: the process did not exit by itself in 10 s: ${running.stderr}`);
});
