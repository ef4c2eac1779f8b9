#!/usr/bin/env node
// The `vod-ingest` command: the compiled CLI (npm run build), or, in a checkout not yet built,
// its TypeScript source through tsx.
import { existsSync } from 'node:fs';

const built = new URL('../dist/main.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/main.ts', import.meta.url).href);
}
