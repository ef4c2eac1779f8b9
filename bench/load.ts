/** A closed-loop load generator: `clients` concurrent loops for `seconds`, with latency quantiles. */
export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
}

export async function closedLoop(clients: number, seconds: number, once: () => Promise<boolean>): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        let ok = false;
        try {
          ok = await once();
        } catch {
          ok = false;
        }
        latencies.push(performance.now() - t0);
        if (!ok) errors++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => quantile(latencies, p);
  return { requests: latencies.length, errors, seconds: elapsed, perSecond: latencies.length / elapsed, p50ms: q(0.5), p99ms: q(0.99) };
}

/** The `p` quantile (0..1) of values sorted ascending; NaN when there are none. */
export function quantile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

/**
 * The median of unsorted values; of an even count, the mean of the middle two (of 4 rounds, not the
 * third: that one favoured whichever system's rounds spread wider). NaN when there are none.
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Student's t, two-sided 95% (the 0.975 quantile), for 1..30 degrees of freedom; 1.96 beyond. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069,
  2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/**
 * The geometric mean of paired ratios (one per round, ours/peer) and its 95% confidence interval:
 * Student's t on their logarithms, so that 0.5x and 2x weigh alike. An interval that holds 1.0
 * means the rounds cannot tell the two apart. With fewer than two ratios the interval is NaN.
 */
export function ratioInterval(ratios: readonly number[]): { mean: number; low: number; high: number } {
  const logs = ratios.map(Math.log);
  const n = logs.length;
  const m = logs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean: Math.exp(m), low: NaN, high: NaN };
  const sd = Math.sqrt(logs.reduce((a, x) => a + (x - m) ** 2, 0) / (n - 1));
  const half = (T_975[n - 2] ?? 1.96) * (sd / Math.sqrt(n));
  return { mean: Math.exp(m), low: Math.exp(m - half), high: Math.exp(m + half) };
}

/**
 * A closed loop over a fixed amount of work: `concurrency` loops take the indexes 0..count-1 in
 * turn, each starting its next one when its last is done. Rejects with the first error.
 */
export async function forEachConcurrent(count: number, concurrency: number, each: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await each(next++);
    }),
  );
}

export function formatLoad(name: string, r: LoadResult): string {
  return `${name.padEnd(44)} ${r.perSecond.toFixed(0).padStart(7)} req/s   p50 ${r.p50ms.toFixed(2).padStart(7)} ms   p99 ${r.p99ms.toFixed(2).padStart(7)} ms   errors ${r.errors}`;
}

/** One job of a throughput bench: when its submit started, was accepted, started and ended (ms since the epoch). */
export interface JobTiming {
  submitMs: number;
  acceptedMs: number;
  startedMs?: number;
  endedMs: number;
}

/** Submits `count` jobs from a closed loop of submitters, then waits for every one to end (and checks it succeeded). */
export type JobRunner = (count: number, label: string) => Promise<JobTiming[]>;

/**
 * A round's figures: jobs/s (first submit → last completion), submit→done and started→done
 * quantiles (ms), and the round's two phases: while jobs are still being submitted (the api and
 * the submitters share the cores with the workers) and after the last one was accepted (only
 * the workers' slots and what they wait on).
 */
export interface Summary {
  perSecond: number;
  p50: number;
  p99: number;
  serviceP50: number;
  serviceP99: number;
  /** First submit → last acceptance (ms), and the jobs that ended meanwhile. */
  submitPhaseMs: number;
  endedWhileSubmitting: number;
  /** Last acceptance → last completion (ms). */
  drainMs: number;
}

export function summarize(ts: JobTiming[]): Summary {
  const first = Math.min(...ts.map((t) => t.submitMs));
  const latency = ts.map((t) => t.endedMs - t.submitMs).sort((a, b) => a - b);
  const service = ts
    .filter((t) => t.startedMs !== undefined)
    .map((t) => t.endedMs - t.startedMs!)
    .sort((a, b) => a - b);
  const last = Math.max(...ts.map((t) => t.endedMs));
  const lastAccepted = Math.max(...ts.map((t) => t.acceptedMs));
  return {
    perSecond: ts.length / ((last - first) / 1000),
    p50: quantile(latency, 0.5),
    p99: quantile(latency, 0.99),
    serviceP50: quantile(service, 0.5),
    serviceP99: quantile(service, 0.99),
    submitPhaseMs: lastAccepted - first,
    endedWhileSubmitting: ts.filter((t) => t.endedMs <= lastAccepted).length,
    drainMs: Math.max(0, last - lastAccepted),
  };
}
