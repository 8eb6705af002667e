import assert from 'node:assert/strict';
import { test } from 'node:test';
import { headlineRate } from '../../bench/lib/report.ts';
import type { RateResult } from '../../bench/lib/measure.ts';
import { percentile, summarize } from '../../bench/lib/stats.ts';

test('percentile is nearest-rank on sorted values', () => {
  const v = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(v, 50), 50);
  assert.equal(percentile(v, 99), 99);
  assert.equal(percentile(v, 100), 100);
  assert.equal(percentile([7], 99), 7);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('summarize sorts its input and reports p50/p90/p99/max/mean', () => {
  const s = summarize([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
  assert.deepEqual(s, { n: 10, p50: 5, p90: 9, p99: 10, max: 10, mean: 5.5 });
});

const rate = (r: number, p99: number, lost = 0, rejected = 0) =>
  ({ rate: r, lost, rejected, propagation_ms: { p99 } }) as unknown as RateResult;

test('the headline is the highest rate under the p99 target with nothing lost or refused', () => {
  assert.deepEqual(headlineRate([rate(20, 50), rate(100, 150), rate(200, 450)], 200), { rate: 100, p99_ms: 150 });
  assert.deepEqual(headlineRate([rate(20, 50), rate(100, 150, 1)], 200), { rate: 20, p99_ms: 50 });
  assert.deepEqual(headlineRate([rate(20, 50, 0, 3)], 200), { rate: null, p99_ms: null });
});
