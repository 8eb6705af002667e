import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eachAtMost } from '../src/concurrency.ts';

test('eachAtMost runs every item once, started in list order, with at most `limit` in flight', async () => {
  const started: number[] = [];
  let inFlight = 0;
  let most = 0;
  await eachAtMost(Array.from({ length: 20 }, (_, i) => i), 3, async (i) => {
    started.push(i);
    most = Math.max(most, ++inFlight);
    await new Promise((r) => setTimeout(r, (i * 7) % 5));
    inFlight--;
  });
  assert.deepEqual(started, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(most, 3);
});

test('eachAtMost with no items, or fewer than the limit, starts only what there is', async () => {
  let calls = 0;
  await eachAtMost([], 4, async () => void calls++);
  await eachAtMost(['a'], 4, async () => void calls++);
  assert.equal(calls, 1);
});
