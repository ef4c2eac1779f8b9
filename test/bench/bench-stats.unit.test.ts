import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median, ratioInterval } from '../../bench/load.js';
import { CpuMeter, machineTicks } from '../../bench/proc-cpu.js';

const near = (got: number, want: number) => assert.ok(Math.abs(got - want) < 5e-4, `${got} is not ${want}`);

describe('bench: the interval of paired ratios', () => {
  it('gives the geometric mean and the Student t 95% interval of the logs', () => {
    // Four paired rounds of one bench:jobs run; reference figures from Python's statistics module
    // (mean and stdev of the logs, t = 3.182 for 3 degrees of freedom).
    const iv = ratioInterval([0.89, 0.91, 0.99, 0.86]);
    near(iv.mean, 0.9113);
    near(iv.low, 0.8284);
    near(iv.high, 1.0024);
  });

  it('weighs a ratio and its inverse alike', () => {
    near(ratioInterval([0.5, 2]).mean, 1);
  });

  it('narrows to the mean when every round agrees, and gives no interval for one round', () => {
    const same = ratioInterval([1.1, 1.1, 1.1]);
    for (const v of [same.mean, same.low, same.high]) near(v, 1.1);
    const one = ratioInterval([0.97]);
    near(one.mean, 0.97);
    assert.ok(Number.isNaN(one.low) && Number.isNaN(one.high));
  });

  it('takes 1.96 beyond 30 degrees of freedom', () => {
    const ratios = Array.from({ length: 40 }, (_, i) => (i % 2 ? 1.1 : 0.9));
    const logs = ratios.map(Math.log);
    const m = logs.reduce((a, b) => a + b) / 40;
    const sd = Math.sqrt(logs.reduce((a, x) => a + (x - m) ** 2, 0) / 39);
    near(ratioInterval(ratios).high, Math.exp(m + (1.96 * sd) / Math.sqrt(40)));
  });
});

describe('bench: the median', () => {
  it('takes the middle value of an odd count and the mean of the middle two of an even one', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([283.9, 327.4, 293.1, 328.2]), (293.1 + 327.4) / 2);
    assert.ok(Number.isNaN(median([])));
  });
});

describe("bench: the machine's idle and stolen shares", () => {
  it('reads the cpu line of /proc/stat: iowait counts as idle, guest time is not counted twice', () => {
    // user nice system idle iowait irq softirq steal guest guest_nice
    const stat = 'cpu  1000 10 300 5000 200 0 40 450 77 0\ncpu0 500 5 150 2500 100 0 20 225 0 0\n';
    assert.deepEqual(machineTicks(stat), { idle: 5200, steal: 450, total: 7000 });
  });

  it('gives shares of the machine between start and stop on this machine', () => {
    const meter = new CpuMeter({ self: process.pid });
    meter.start();
    // Busy until this process has used 200 ms of CPU, however loaded the machine (at most 10 s).
    const used0 = process.cpuUsage();
    const until = performance.now() + 10_000;
    while (performance.now() < until && process.cpuUsage(used0).user < 200_000);
    const { machine, cpu } = meter.stop();
    assert.ok(cpu.self! >= 0.15, `this process used ${cpu.self} s`);
    for (const share of [machine.idle, machine.steal]) assert.ok(share >= 0 && share <= 1, `share ${share}`);
    // The machine ran this loop meanwhile: it cannot have been all idle or all stolen.
    assert.ok(machine.idle + machine.steal < 1, JSON.stringify(machine));
  });
});
