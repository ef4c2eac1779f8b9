import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { resolveIngestPath } from '../src/sources/ingest-path.js';

let base: string;
let inbox: string;
before(() => {
  base = mkdtempSync(path.join(tmpdir(), 'ingest-'));
  inbox = path.join(base, 'inbox');
  mkdirSync(path.join(inbox, 'sub'), { recursive: true });
  writeFileSync(path.join(inbox, 'clip.mp4'), 'x'.repeat(1234));
  writeFileSync(path.join(inbox, 'sub', 'deep.mp4'), 'y');
  writeFileSync(path.join(base, 'secret.txt'), 'outside');
  symlinkSync(path.join(base, 'secret.txt'), path.join(inbox, 'escape.mp4'));
  symlinkSync(path.join(inbox, 'clip.mp4'), path.join(inbox, 'alias.mp4'));
  symlinkSync(base, path.join(inbox, 'up'));
  symlinkSync(path.join(inbox, 'missing.mp4'), path.join(inbox, 'dangling.mp4'));
  execFileSync('mkfifo', [path.join(inbox, 'pipe.mp4')]);
});
after(() => rmSync(base, { recursive: true, force: true }));

test('a regular file under a root resolves to its real path and size (symlinks inside the root are fine)', async () => {
  assert.deepEqual(await resolveIngestPath(path.join(inbox, 'clip.mp4'), [inbox]), { realPath: path.join(inbox, 'clip.mp4'), size: 1234 });
  assert.equal((await resolveIngestPath(path.join(inbox, 'sub/deep.mp4'), [inbox])).size, 1);
  assert.equal((await resolveIngestPath(path.join(inbox, 'alias.mp4'), [inbox])).realPath, path.join(inbox, 'clip.mp4'));
});

test('everything else is refused with its own code', async () => {
  const cases: Array<[string, string, number]> = [
    ['', 'SOURCE_PATH_INVALID', 400],
    ['clip.mp4', 'SOURCE_PATH_NOT_ABSOLUTE', 400],
    [`${inbox}/sub/../../secret.txt`, 'SOURCE_PATH_TRAVERSAL', 403],
    [`${inbox}/../secret.txt`, 'SOURCE_PATH_TRAVERSAL', 403],
    [path.join(base, 'secret.txt'), 'SOURCE_OUTSIDE_INGEST_ROOTS', 403],
    ['/etc/passwd', 'SOURCE_OUTSIDE_INGEST_ROOTS', 403],
    ['/dev/zero', 'SOURCE_OUTSIDE_INGEST_ROOTS', 403],
    [path.join(inbox, 'escape.mp4'), 'SOURCE_SYMLINK_ESCAPE', 403],
    [path.join(inbox, 'up', 'secret.txt'), 'SOURCE_SYMLINK_ESCAPE', 403],
    [path.join(inbox, 'nope.mp4'), 'SOURCE_NOT_FOUND', 400],
    [path.join(inbox, 'dangling.mp4'), 'SOURCE_NOT_FOUND', 400],
    [path.join(inbox, 'sub'), 'SOURCE_NOT_REGULAR_FILE', 400],
    [path.join(inbox, 'pipe.mp4'), 'SOURCE_NOT_REGULAR_FILE', 400],
    [`${inbox}/clip.mp4\0.txt`, 'SOURCE_PATH_INVALID', 400],
  ];
  for (const [p, code, status] of cases) {
    await assert.rejects(resolveIngestPath(p, [inbox]), (e: { code?: string; status?: number }) => {
      assert.equal(e.code, code, `${JSON.stringify(p)}`);
      assert.equal(e.status, status, `${JSON.stringify(p)}`);
      return true;
    });
  }
});

test('a device is refused even when a root admits it', async () => {
  await assert.rejects(resolveIngestPath('/dev/null', ['/dev']), (e: { code?: string }) => e.code === 'SOURCE_NOT_REGULAR_FILE');
});
