// The sandbox's waiting room is per account (sandboxes/fair-queue.ts, sandbox-process.ts): one
// account's looping scripts take its own share of the slots and of the queue, never its neighbours'.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callCompleted, sampleContext } from '../../sandboxes/examples/sample-events.ts';
import type { RunOutcome, TransformEngine } from '../../sandboxes/index.ts';
import { expectBody, expectError, HEALTHY, useEngine } from './engine-fixture.ts';

const SHARE = 6;
const ctx = useEngine({ maxPerAccount: SHARE });
const LOOP = `export default function transform() { for (;;) {} }`;

let keys = 0;
const run = (engine: TransformEngine, accountId: string, source: string, signal?: AbortSignal): Promise<RunOutcome> =>
  engine.run({ accountId, signal, key: `fair-${++keys}@1`, language: 'typescript', source, event: callCompleted(), ctx: sampleContext, limits: { timeoutMs: 400 } });

test("B's run is served while A's looping runs still wait, A's runs past its share are refused, and A's withdrawn runs leave the queue", async () => {
  const { engine } = ctx;
  const walkAway = new AbortController();
  let aSettled = 0;
  const flood = Array.from({ length: SHARE + 2 }, () => run(engine, 'acc_a', LOOP, walkAway.signal).then((o) => (aSettled++, o)));
  // Past its share A is refused at once, as overloaded: a load answer, never run.
  const refused = await Promise.all(flood.slice(SHARE));
  for (const o of refused) assert.match(expectError(o, 'overloaded').message, /this account/);

  // B is not behind A's queue: its trivial run completes while most of A's loops have not even started.
  assert.equal(expectBody(await run(engine, 'acc_b', HEALTHY)), 'healthy');
  assert.ok(aSettled - refused.length <= 1, `A's runs done before B's: ${aSettled - refused.length}`);
  assert.ok(engine.stats().queued >= SHARE - 2, JSON.stringify(engine.stats()));

  // A's caller goes away: every run of A still waiting is withdrawn at once (not run for no one).
  const before = engine.stats().cancelled;
  walkAway.abort();
  const outcomes = await Promise.all(flood.slice(0, SHARE));
  const withdrawn = outcomes.filter((o) => !o.ok && o.error.code === 'cancelled').length;
  assert.ok(withdrawn >= SHARE - 2, `${withdrawn} withdrawn`);
  assert.equal(engine.stats().cancelled - before, withdrawn);
  assert.equal(engine.stats().queued, 0);
  // A run already aborted is never queued.
  expectError(await run(engine, 'acc_a', HEALTHY, walkAway.signal), 'cancelled');
});
