// What in-process containment cannot handle: V8 giving up on an isolate, operations V8 cannot
// interrupt, a sandbox process that hangs. The engine's host process must ride through all of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually } from '../support/stack.ts';
import { assertStillServes, expectBody, expectError, HEALTHY, runTs, useEngine } from './engine-fixture.ts';

// The isolate deadline must outlast the ~0.6 s (more on a busy machine) V8 takes to give up on the
// catastrophic allocation below.
// Both slots to one account: the culprit and an innocent run must be in the process together.
const ctx = useEngine({ isolateDeadlineGraceMs: 3_000, maxRunningPerAccount: 2 });
// Short deadlines: the isolate's must come before one uninterruptible split('') ends (~200 ms).
const impatient = useEngine({ isolateDeadlineGraceMs: 50, processDeadlineGraceMs: 500 });

// `Array(1e8).fill(0)` under 32 MB makes V8 abort the isolate ("Catastrophic out-of-memory
// error"): isolated-vm cannot recover from that inside a process.
const CATASTROPHIC = `export default function transform() { return { body: Array(1e8).fill(0).length }; }`;

test('an allocation that kills V8 costs the sandbox process, not the host, and only its own run', async () => {
  const before = ctx.engine.stats();
  // An innocent run in flight at the same moment is retried on the new process and succeeds.
  const [culprit, innocent] = await Promise.all([runTs(ctx.engine, CATASTROPHIC), runTs(ctx.engine, HEALTHY)]);
  const error = expectError(culprit, 'memory_limit');
  assert.match(error.message, /memory limit of 32 MB/);
  assert.equal(expectBody(innocent), 'healthy');
  const after = ctx.engine.stats();
  assert.ok(after.sandboxRestarts > before.sandboxRestarts, 'the sandbox process was replaced');
  assert.notEqual(after.sandboxPid, before.sandboxPid);
  await assertStillServes(ctx.engine);
});

test('an operation V8 cannot interrupt is stopped by the isolate deadline', async () => {
  // split('') on a 40M-character string runs in C++ without interrupt checks: the 5 ms CPU limit
  // cannot stop it, disposing the isolate does.
  const source = `export default function transform() {
  const s = 'ab'.repeat(2e7);
  let n = 0;
  for (let i = 0; i < 20; i++) n += s.split('').length;
  return { body: n };
}`;
  const before = impatient.engine.stats();
  const started = performance.now();
  const error = expectError(await runTs(impatient.engine, source, { timeoutMs: 5, memoryMb: 256 }), 'timeout');
  assert.match(error.message, /stopped: it was still running 55 ms/);
  // Answered at the deadline, not when V8 got control back (20 splits: seconds).
  assert.ok(performance.now() - started < 1_000, `answered after ${performance.now() - started} ms`);
  const after = impatient.engine.stats();
  assert.equal(after.sandboxRestarts, before.sandboxRestarts, 'disposing the isolate was enough');
  assert.equal(after.sandboxPid, before.sandboxPid);
  await assertStillServes(impatient.engine);
});

test('a sandbox process that stops answering is killed and replaced', async () => {
  await impatient.engine.warmup();
  const { sandboxPid } = impatient.engine.stats();
  assert.ok(sandboxPid);
  // Frozen as a hung native call would leave it: it takes the run and never answers.
  process.kill(sandboxPid, 'SIGSTOP');
  const error = expectError(await runTs(impatient.engine, `export default () => ({ body: 'never answered' })`, { timeoutMs: 20 }), 'timeout');
  assert.match(error.message, /stopped/);
  assert.notEqual(impatient.engine.stats().sandboxPid, sandboxPid);
  await assertStillServes(impatient.engine);
});

test('a sandbox process killed from outside while idle is restarted on demand', async () => {
  await ctx.engine.warmup();
  const { sandboxPid } = ctx.engine.stats();
  assert.ok(sandboxPid);
  const restarts = ctx.engine.stats().sandboxRestarts;
  process.kill(sandboxPid, 'SIGKILL');
  // The engine learns of the death when the process has closed; a run sent before that would be the
  // only one on board when it does, and be blamed for it. A loaded machine can take longer than a fixed wait.
  await eventually(async () => ctx.engine.stats().sandboxRestarts > restarts, 'the engine to see its sandbox process die');
  await assertStillServes(ctx.engine);
  assert.notEqual(ctx.engine.stats().sandboxPid, sandboxPid);
});
