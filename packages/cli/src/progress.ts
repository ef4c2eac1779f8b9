import { formatBytes } from './options.js';

export interface ProgressState {
  bytesUploaded: number;
  bytesTotal: number;
  partsUploaded?: number;
  partsTotal?: number;
}

/**
 * A progress line — bar, bytes, parts, rate, ETA. On a terminal it redraws in place; otherwise
 * (a pipe, a log) it prints a line per update, at most one a second but always the last one.
 */
export class ProgressBar {
  private readonly started = Date.now();
  private readonly baseline: number;
  private lastPrinted = 0;
  private pending?: string;

  constructor(
    private readonly out: NodeJS.WriteStream,
    /** Bytes already done when this run started (a resume): the rate counts only this run's. */
    baseline = 0,
  ) {
    this.baseline = baseline;
  }

  update(p: ProgressState): void {
    const line = renderProgress(p, (Date.now() - this.started) / 1000, this.baseline);
    if (this.out.isTTY) {
      this.out.write(`\r${line}\x1b[K`);
      return;
    }
    this.pending = line;
    if (Date.now() - this.lastPrinted >= 1000 || p.bytesUploaded >= p.bytesTotal) this.flush();
  }

  /** Ends the progress line (prints a pending one, moves a terminal to the next line). */
  done(): void {
    if (this.out.isTTY) this.out.write('\n');
    else this.flush();
  }

  private flush(): void {
    if (this.pending === undefined) return;
    this.out.write(`${this.pending}\n`);
    this.pending = undefined;
    this.lastPrinted = Date.now();
  }
}

/** `[#########-----------]  45%  45.0 MiB / 100.0 MiB  parts 6/13  12.3 MiB/s  ETA 4s` */
export function renderProgress(p: ProgressState, elapsedSeconds: number, baseline = 0): string {
  const width = 24;
  const ratio = p.bytesTotal > 0 ? Math.min(1, p.bytesUploaded / p.bytesTotal) : 0;
  const filled = Math.round(ratio * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const pct = `${String(Math.floor(ratio * 100)).padStart(3)}%`;
  const bytes = `${formatBytes(p.bytesUploaded)} / ${formatBytes(p.bytesTotal)}`;
  const parts = p.partsTotal ? `  parts ${p.partsUploaded ?? 0}/${p.partsTotal}` : '';
  const rate = elapsedSeconds > 0 ? Math.max(0, p.bytesUploaded - baseline) / elapsedSeconds : 0;
  const left = p.bytesTotal - p.bytesUploaded;
  const eta = left <= 0 ? 'ETA 0s' : rate > 0 ? `ETA ${formatDuration(left / rate)}` : 'ETA --';
  return `${bar} ${pct}  ${bytes}${parts}  ${formatBytes(Math.round(rate))}/s  ${eta}`;
}

function formatDuration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
