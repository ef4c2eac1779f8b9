import { readdirSync, readFileSync } from 'node:fs';

// USER_HZ: /proc/<pid>/stat counts CPU time in these ticks; 100 on every Linux we run on.
const TICKS_PER_SECOND = 100;

/** CPU time (user + system, all threads) a process has used so far, in seconds; NaN when unreadable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; fields after it are space-separated.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** The pid of a local `redis-server` listening on `port` (its process title names the port), if any. */
export function findRedisPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.startsWith('redis-server') && cmd.includes(`:${port}`)) return Number(entry);
  }
  return undefined;
}

/**
 * The whole machine's CPU time so far (all cores, the `cpu` line of /proc/stat, or of `stat`), in
 * ticks: idle (iowait included), stolen by the hypervisor, and in all.
 */
export function machineTicks(stat = readFileSync('/proc/stat', 'utf8')): { idle: number; steal: number; total: number } {
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is counted in user)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = stat.split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return { idle: idle! + iowait!, steal: steal!, total: user! + nice! + system! + idle! + iowait! + irq! + softirq! + steal! };
}

/** What share of the machine's CPU time between two `machineTicks` was idle and what share the hypervisor took (steal). */
export interface MachineShares {
  idle: number;
  steal: number;
}

/** CPU seconds each named process used between `start()` and `stop()`, and how idle and stolen the machine was meanwhile. */
export class CpuMeter {
  private before: Record<string, number> = {};
  private machine0 = { idle: 0, steal: 0, total: 0 };
  private t0 = 0;

  constructor(private readonly pids: Record<string, number | undefined>) {}

  start(): void {
    this.t0 = performance.now();
    this.machine0 = machineTicks();
    this.before = this.sample();
  }

  /** CPU seconds per process, the wall seconds they were measured over, and the machine's idle and stolen shares. */
  stop(): { wall: number; cpu: Record<string, number>; machine: MachineShares } {
    const after = this.sample();
    const m = machineTicks();
    const total = m.total - this.machine0.total;
    const machine = { idle: (m.idle - this.machine0.idle) / total, steal: (m.steal - this.machine0.steal) / total };
    const cpu = Object.fromEntries(Object.entries(after).map(([name, s]) => [name, s - this.before[name]]));
    return { wall: (performance.now() - this.t0) / 1000, cpu, machine };
  }

  private sample(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.pids).map(([name, pid]) => [name, pid === undefined ? NaN : cpuSeconds(pid)]));
  }
}

/** `worker 93% · emulator 41% · ...`: each process's CPU as a share of one core over `wall`, busiest first. */
export function formatCpu(cpu: Record<string, number>, wall: number): string {
  return Object.entries(cpu)
    .filter(([, s]) => Number.isFinite(s))
    .sort((a, b) => b[1] - a[1])
    .map(([name, s]) => `${name} ${((100 * s) / wall).toFixed(0)}%`)
    .join(' · ');
}
