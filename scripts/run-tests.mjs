#!/usr/bin/env node
// Runs the *.test.ts files under shared/, services/*/, packages/ and test/ with node:test and tsx.
// Node 20's --test takes no globs, so the files are listed here.
// Usage: node scripts/run-tests.mjs [--unit] [substring filter ...]
//   --unit  only the unit lane: *.unit.test.ts, the tests that start no process (no Redis, no
//           emulator, no compiled service) and run in milliseconds with fakes.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const skip = new Set(['node_modules', 'dist', '.data', '.git']);

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (skip.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const argv = process.argv.slice(2);
const unit = argv.includes('--unit');
const filters = argv.filter((a) => !a.startsWith('--'));
const files = ['shared', 'services', 'packages', 'test']
  .flatMap((d) => walk(path.join(root, d), []))
  .filter((f) => !unit || f.endsWith('.unit.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const args = [
  '--conditions=development',
  '--import',
  'tsx',
  '--test',
  '--test-concurrency=2',
  '--test-timeout=600000',
  ...files.map((f) => path.relative(root, f)),
];
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
