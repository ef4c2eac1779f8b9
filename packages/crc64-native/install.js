'use strict';
// npm's install step for this package: builds the addon with node-gyp against the headers of the
// Node that runs npm (no header download), and never fails the install: without a compiler,
// Python or make, @vod-ingest/shared's crc64 keeps its pure-JS code.
// CRC64_NATIVE_SKIP_BUILD=1 skips the build (an image stage that copies a built addon in).
const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

function nodeGypScript() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    return existsSync(bundled) ? bundled : null;
  }
}

/**
 * The running Node's own headers: an npm `nodedir` setting, else the install prefix of this node
 * binary (official tarballs, the node Docker images and Debian's nodejs ship include/node there).
 */
function nodeDir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

function main() {
  if (process.env.CRC64_NATIVE_SKIP_BUILD) return console.log('crc64-native: build skipped (CRC64_NATIVE_SKIP_BUILD)');
  const gyp = nodeGypScript();
  if (!gyp) return console.warn('crc64-native: node-gyp not found; CRC-64 uses the JS code');
  const dir = nodeDir();
  // node-gyp lets npm_config_* variables override its flags, so the directory goes in both.
  const args = [gyp, 'rebuild', ...(dir ? [`--nodedir=${dir}`] : [])];
  const env = dir ? { ...process.env, npm_config_nodedir: dir } : process.env;
  const r = spawnSync(process.execPath, args, { cwd: __dirname, env, stdio: 'inherit' });
  if (r.status !== 0) return console.warn(`crc64-native: build failed (node-gyp exit ${r.status}); CRC-64 uses the JS code`);
  try {
    console.log(`crc64-native: built, kernel ${require('./index.js').kernel}`);
  } catch (err) {
    console.warn(`crc64-native: built but does not load (${err.message}); CRC-64 uses the JS code`);
  }
}

main();
