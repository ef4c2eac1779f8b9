import { readFileSync, writeFileSync } from 'node:fs';

/** A field of /proc/<pid>/status in bytes (`VmHWM`, `VmRSS`, ...); NaN when unreadable. */
export function statusBytes(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Peak resident set size of the process since it started or since `resetPeakRss`, in bytes. */
export const peakRss = (pid: number): number => statusBytes(pid, 'VmHWM');

/** Current resident set size, in bytes. */
export const currentRss = (pid: number): number => statusBytes(pid, 'VmRSS');

/** Resets the process's peak RSS (VmHWM) to its current RSS (`5` to clear_refs, Linux 4.0+); false when refused. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
