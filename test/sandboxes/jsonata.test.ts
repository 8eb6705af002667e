// JSONata mappings: same run API, result becomes { body }, undefined skips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callCompleted } from '../../sandboxes/examples/sample-events.ts';
import { expectBody, expectError, runJsonata, useEngine } from './engine-fixture.ts';

// A small sandbox heap, so that the allocation test below exhausts it quickly.
const ctx = useEngine({ sandboxHeapMb: 128 });

test('the expression result becomes the body of a POST', async () => {
  const outcome = await runJsonata(ctx.engine, `{ "event": type, "lead_id": data.lead_id, "minutes": $round(data.duration_s / 60, 1) }`);
  assert.deepEqual(outcome.ok && outcome.result, { method: 'POST', body: { event: 'call_completed', lead_id: '884', minutes: 14 } });
  assert.deepEqual(outcome.logs, []);
});

test('undefined (no match) skips the delivery', async () => {
  const outcome = await runJsonata(ctx.engine, `data.duration_s < 10 ? { "short": true }`);
  assert.equal(outcome.ok, true);
  assert.equal(outcome.ok && outcome.result, null);
});

test('the delivery context is bound as $ctx', async () => {
  assert.deepEqual(expectBody(await runJsonata(ctx.engine, `{ "dest": $ctx.destination.id, "attempt": $ctx.delivery.attempt, "v": $ctx.mapping.version }`)), {
    dest: 'dst_crm',
    attempt: 1,
    v: 1,
  });
});

test('a runtime error carries its code and position', async () => {
  const error = expectError(await runJsonata(ctx.engine, `{\n  "n": $number(data.disposition)\n}`), 'script_error');
  assert.match(error.message, /Unable to cast value to a number.*\(D3030\)/);
  assert.equal(error.line, 2);
});

test('endless recursion is stopped by the time limit', async () => {
  const started = performance.now();
  const outcome = await runJsonata(ctx.engine, `($loop := function($n) { $loop($n + 1) }; $loop(0))`, callCompleted(), { timeoutMs: 50 });
  const error = expectError(outcome, 'timeout');
  assert.match(error.message, /D1012/);
  assert.ok(performance.now() - started < 2_000);
  assert.equal(expectBody(await runJsonata(ctx.engine, `"still serving"`)), 'still serving');
});

test('a busy expression times out', async () => {
  const error = expectError(await runJsonata(ctx.engine, `$count([1..900000].($ * 2))`, callCompleted(), { timeoutMs: 20 }), 'timeout');
  assert.match(error.message, /timeout|D1012/i);
});

test('returning a function is refused', async () => {
  const error = expectError(await runJsonata(ctx.engine, `{ "f": function($x) { $x } }`), 'invalid_result');
  assert.match(error.message, /JSONata function/);
});

test('a syntax error is reported with its position without reaching the sandbox', async () => {
  const error = expectError(await runJsonata(ctx.engine, `data.(lead_id`), 'syntax_error');
  assert.equal(error.line, 1);
  assert.equal(error.column, 14);
});

test('an expression that exhausts memory fails alone; the sandbox process is replaced', async () => {
  const before = ctx.engine.stats();
  // 40 flat strings of 8 MB each: more than the 128 MB heap of the sandbox process.
  const hog = `($s := $pad("x", 8000000); $count([1..40].$uppercase($s & $string($))))`;
  const [culprit, innocent] = await Promise.all([
    runJsonata(ctx.engine, hog, callCompleted(), { timeoutMs: 5_000 }),
    runJsonata(ctx.engine, `"unaffected"`),
  ]);
  const error = expectError(culprit, 'memory_limit');
  assert.match(error.message, /memory of the sandbox process/);
  assert.equal(expectBody(innocent), 'unaffected');
  assert.ok(ctx.engine.stats().sandboxRestarts > before.sandboxRestarts);
  assert.equal(expectBody(await runJsonata(ctx.engine, `"next"`)), 'next');
});
