import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createLogger } from '@vod-ingest/shared';
import { sweepSpool } from '../src/spool-sweep.js';

test('start-up sweep: old url-source spool files go; fresh ones, ones a live process has open and other files stay', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-sweep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spool = () => path.join(dir, `url-${randomBytes(16).toString('hex')}.part`);
  const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
  const make = (file: string, old: boolean) => {
    writeFileSync(file, 'x');
    if (old) utimesSync(file, twoHoursAgo, twoHoursAgo);
    return file;
  };
  const leftover = make(spool(), true);
  const leftover2 = make(spool(), true);
  const fresh = make(spool(), false);
  const uploading = make(spool(), true); // spooled long ago, still being uploaded by a live worker
  const handle = await open(uploading, 'r');
  t.after(() => handle.close());
  const foreign = make(path.join(dir, 'url-notours.part'), true);
  const other = make(path.join(dir, 'video.mp4'), true);

  const removed = await sweepSpool({ dir, maxAgeMs: 3600_000, log: createLogger('test', { level: 'fatal' }) });
  assert.deepEqual(removed.sort(), [leftover, leftover2].sort());
  for (const f of [leftover, leftover2]) assert.equal(existsSync(f), false);
  for (const f of [fresh, uploading, foreign, other]) assert.equal(existsSync(f), true, `${path.basename(f)} stays`);
  assert.deepEqual(await sweepSpool({ dir: path.join(dir, 'missing'), maxAgeMs: 1, log: createLogger('test', { level: 'fatal' }) }), []);
});
