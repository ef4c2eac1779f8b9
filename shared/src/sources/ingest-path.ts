import { accessSync, constants, realpathSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { AppError, ValidationError } from '../errors.js';

/** A file source that passed every check: its real path, under an ingest root, and its size. */
export interface ResolvedFile {
  realPath: string;
  size: number;
}

const forbidden = (code: string, message: string) => new AppError(code, message, { status: 403 });

/**
 * Resolves a `file` source: an absolute path whose real location (symlinks followed) lies under
 * one of `roots` (INGEST_ROOTS) and is a readable regular file. `..` segments, symlinks that
 * escape, directories, devices, FIFOs and sockets are refused with their own codes; so is an
 * empty file (`SOURCE_EMPTY`: neither OSS nor VOD takes a 0-byte video).
 *
 * The three look-ups (realpath, stat, access) are synchronous: on a local file system each takes
 * microseconds, while their promise versions cost ~80 µs of CPU per check (three thread-pool round
 * trips) — a tenth of the api's CPU per job in bench:jobs, and again in the worker.
 */
export async function resolveIngestPath(raw: string, roots: readonly string[]): Promise<ResolvedFile> {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 4096 || raw.includes('\0')) {
    throw new ValidationError(
      'source.path is not a usable path',
      [{ field: 'source.path', message: 'empty, too long or contains NUL' }],
      'SOURCE_PATH_INVALID',
    );
  }
  if (!path.isAbsolute(raw)) {
    throw new ValidationError('source.path must be absolute', [{ field: 'source.path', message: 'not absolute' }], 'SOURCE_PATH_NOT_ABSOLUTE');
  }
  if (raw.split(/[\\/]/).includes('..')) {
    throw forbidden('SOURCE_PATH_TRAVERSAL', 'source.path may not contain ".." segments');
  }
  const realRoots = await realRootsOf(roots);
  if (!realRoots.some((r) => isWithin(path.resolve(raw), r.given) || isWithin(path.resolve(raw), r.real))) {
    throw forbidden('SOURCE_OUTSIDE_INGEST_ROOTS', 'source.path is not under a configured ingest root');
  }
  let real: string;
  try {
    real = realpathSync.native(raw);
  } catch {
    throw new ValidationError('source.path does not exist', [{ field: 'source.path', message: 'not found' }], 'SOURCE_NOT_FOUND');
  }
  if (!realRoots.some((r) => isWithin(real, r.real))) {
    throw forbidden('SOURCE_SYMLINK_ESCAPE', 'source.path leads outside the ingest roots through a symbolic link');
  }
  const st: Stats = statSync(real);
  if (!st.isFile()) {
    const kind = st.isDirectory() ? 'a directory' : 'not a regular file (device, FIFO or socket)';
    throw new ValidationError(`source.path is ${kind}`, [{ field: 'source.path', message: kind }], 'SOURCE_NOT_REGULAR_FILE');
  }
  if (st.size === 0) {
    throw new ValidationError(
      'source.path is an empty file (0 bytes): there is nothing to upload',
      [{ field: 'source.path', message: 'empty file' }],
      'SOURCE_EMPTY',
    );
  }
  try {
    accessSync(real, constants.R_OK);
  } catch {
    throw forbidden('SOURCE_NOT_READABLE', 'source.path is not readable by the service');
  }
  return { realPath: real, size: st.size };
}

type RealRoots = Array<{ given: string; real: string }>;

/** Resolved roots, reused for a few seconds: resolving them on every request cost a quarter of the api's CPU (bench/jobs). */
const ROOTS_TTL_MS = 5000;
const rootsCache = new Map<string, { at: number; roots: Promise<RealRoots> }>();

function realRootsOf(roots: readonly string[]): Promise<RealRoots> {
  const key = roots.join('\0');
  const hit = rootsCache.get(key);
  if (hit && Date.now() - hit.at < ROOTS_TTL_MS) return hit.roots;
  const fresh = { at: Date.now(), roots: resolveRoots(roots) };
  rootsCache.set(key, fresh);
  return fresh.roots;
}

async function resolveRoots(roots: readonly string[]): Promise<RealRoots> {
  const out: RealRoots = [];
  for (const r of roots) {
    try {
      out.push({ given: path.resolve(r), real: realpathSync.native(r) });
    } catch {
      // a root that does not exist admits nothing
    }
  }
  return out;
}

function isWithin(p: string, root: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}
