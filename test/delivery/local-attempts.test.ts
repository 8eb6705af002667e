import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createLocalAttempts, LOCAL_PER_DESTINATION, SLOW_FOR_MS, SLOW_MS } from '../../src/delivery/local-attempts.ts';

describe('which attempts may run inside a workflow task', () => {
  it(`lets at most ${LOCAL_PER_DESTINATION} of one destination run at once, and frees a place when one ends`, () => {
    const local = createLocalAttempts();
    const ends = Array.from({ length: LOCAL_PER_DESTINATION }, () => local.tryStart('dest_a', 0));
    assert.ok(ends.every(Boolean));
    assert.equal(local.tryStart('dest_a', 10), undefined);
    assert.ok(local.tryStart('dest_b', 10), 'another destination has its own places');
    ends[0]!();
    assert.ok(local.tryStart('dest_a', 20));
  });

  it('finds a hanging receiver out while its attempt is still in flight, and keeps it out for the slow period', () => {
    const local = createLocalAttempts();
    const end = local.tryStart('dest_a', 0);
    assert.ok(end);
    const second = local.tryStart('dest_a', SLOW_MS - 1);
    assert.ok(second, 'still within the bound');
    // The first attempt has been waiting for its answer longer than SLOW_MS: nothing more goes in a task.
    assert.equal(local.tryStart('dest_a', SLOW_MS + 1), undefined);
    end();
    second();
    assert.equal(local.tryStart('dest_a', SLOW_MS + 2), undefined, 'its answer coming back does not end the slow period');
    assert.ok(local.tryStart('dest_a', SLOW_MS + 1 + SLOW_FOR_MS + 1), 'after the slow period it is tried in a task again');
    assert.ok(local.tryStart('dest_b', SLOW_MS + 2), 'the slow destination alone is kept out');
  });

  it('keeps a destination out after an attempt that took longer than SLOW_MS, wherever it ran', () => {
    const local = createLocalAttempts();
    local.observed('dest_a', SLOW_MS + 1, 0);
    assert.equal(local.tryStart('dest_a', 1), undefined);
    local.observed('dest_b', SLOW_MS, 0);
    assert.ok(local.tryStart('dest_b', 1), 'exactly SLOW_MS is not slow');
  });
});
