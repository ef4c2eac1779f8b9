import { readdir, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '@vod-ingest/shared';

/** A url source's spool file, as `sources/url-source.ts` names it: `url-<32 hex>.part`. */
const SPOOL_FILE = /^url-[0-9a-f]{32}\.part$/;

export interface SpoolSweepOptions {
  /** SPOOL_DIR; defaults to the OS temp dir, as the url source does. */
  dir?: string;
  /** Files last written longer ago than this are removed, unless a live process has them open. */
  maxAgeMs: number;
  log: Logger;
  now?: number;
}

/**
 * Removes what killed workers left in the spool directory, at start-up: url-source files last
 * written more than `maxAgeMs` ago. A file is a temporary download of one attempt of one job, and
 * a running attempt keeps writing it (downloading) or has it open (uploading), so a file that is
 * old and open nowhere belongs to no live job. Open files are found in `/proc/<pid>/fd` (Linux;
 * processes of other users cannot be seen, and elsewhere only the age counts). Only names of the
 * url source's own pattern are touched. Returns the files removed.
 */
export async function sweepSpool(o: SpoolSweepOptions): Promise<string[]> {
  const dir = o.dir ?? tmpdir();
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => SPOOL_FILE.test(n));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  if (names.length === 0) return [];
  const now = o.now ?? Date.now();
  const old: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const st = await stat(file).catch(() => undefined);
    if (st?.isFile() && now - st.mtimeMs > o.maxAgeMs) old.push(path.resolve(file));
  }
  if (old.length === 0) return [];
  const open = await openFiles();
  const removed: string[] = [];
  for (const file of old) {
    if (open.has(file)) continue;
    await rm(file, { force: true });
    removed.push(file);
  }
  if (removed.length > 0) o.log.info({ dir, count: removed.length }, 'SpoolFilesSwept');
  return removed;
}

/** Every file some process we can see has open (Linux `/proc`); empty elsewhere. */
async function openFiles(): Promise<Set<string>> {
  const open = new Set<string>();
  const pids = await readdir('/proc').catch(() => [] as string[]);
  for (const pid of pids) {
    if (!/^\d+$/.test(pid)) continue;
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
      if (target?.includes('url-')) open.add(target);
    }
  }
  return open;
}
