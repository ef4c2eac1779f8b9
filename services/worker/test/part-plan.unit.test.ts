import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, planParts, type PartPlan } from '../src/upload/part-plan.js';

const MiB = 1024 * 1024;

/** The parts cover [0, size) in order, without gap or overlap, numbered from 1. */
function assertCovers(plan: PartPlan, size: number): void {
  let next = 0;
  plan.parts.forEach((p, i) => {
    assert.equal(p.partNumber, i + 1);
    assert.equal(p.start, next);
    assert.ok(p.end > p.start || size === 0);
    next = p.end;
  });
  assert.equal(next, size);
}

test('a body that fits in one part is a single PUT (0 bytes included)', () => {
  for (const size of [0, 1, DEFAULT_PART_SIZE]) {
    const plan = planParts(size);
    assert.equal(plan.single, true);
    assert.deepEqual(plan.parts, [{ partNumber: 1, start: 0, end: size }]);
  }
});

test('larger bodies are split into full parts and a short last part', () => {
  const plan = planParts(3 * DEFAULT_PART_SIZE + 1);
  assert.equal(plan.single, false);
  assert.equal(plan.partSize, DEFAULT_PART_SIZE);
  assert.deepEqual(
    plan.parts.map((p) => p.end - p.start),
    [DEFAULT_PART_SIZE, DEFAULT_PART_SIZE, DEFAULT_PART_SIZE, 1],
  );
  assertCovers(plan, 3 * DEFAULT_PART_SIZE + 1);
});

test('a requested part size below the OSS minimum is raised to it', () => {
  const plan = planParts(5 * MIN_PART_SIZE, 1);
  assert.equal(plan.partSize, MIN_PART_SIZE);
  assert.equal(plan.parts.length, 5);
  assertCovers(plan, 5 * MIN_PART_SIZE);
});

test('a body that would need more than 10,000 parts gets parts grown to a whole MiB', () => {
  const size = 100 * 1024 * MiB + 7; // 100 GiB + 7 bytes at 8 MiB would be 12,801 parts
  const plan = planParts(size);
  assert.ok(plan.parts.length <= MAX_PARTS, `${plan.parts.length} parts`);
  assert.equal(plan.partSize % MiB, 0);
  assert.ok(plan.partSize > DEFAULT_PART_SIZE);
  assertCovers(plan, size);
});

test('exactly 10,000 parts keeps the requested size', () => {
  const plan = planParts(MAX_PARTS * MIN_PART_SIZE, MIN_PART_SIZE);
  assert.equal(plan.partSize, MIN_PART_SIZE);
  assert.equal(plan.parts.length, MAX_PARTS);
});

test('a negative, fractional or unsafe size is refused', () => {
  for (const size of [-1, 1.5, Number.NaN, 2 ** 53]) assert.throws(() => planParts(size), RangeError);
});
