#!/usr/bin/env node
// The one lint rule Biome lacks outside its import sorter: no module imported twice in a file
// (two value imports, or two `import type`, of the same specifier). Part of `npm run lint`.
// Usage: node scripts/lint-imports.mjs — exits 1 listing each duplicate as file:line.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const skip = new Set(['node_modules', 'dist', '.data', '.git', 'coverage', 'build']);
const IMPORT = /^import\s+(type\s+)?[^;]*?\s+from\s+['"]([^'"]+)['"]/gm;

function* files(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (/\.(ts|mts|cts|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) yield p;
  }
}

let found = 0;
for (const file of files(root)) {
  const text = readFileSync(file, 'utf8');
  const seen = new Set();
  for (const m of text.matchAll(IMPORT)) {
    const key = `${m[1] ? 'type ' : ''}${m[2]}`;
    if (seen.has(key)) {
      const line = text.slice(0, m.index).split('\n').length;
      console.error(`${path.relative(root, file)}:${line} duplicate import of '${m[2]}'${m[1] ? ' (type)' : ''}: merge it into the first one`);
      found++;
    }
    seen.add(key);
  }
}
if (found) process.exit(1);
