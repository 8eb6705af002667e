// Shared by the sandbox tests: one engine per test file (a sandbox process costs ~0.5 s to start).
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { callCompleted, SAMPLE_ACCOUNT, sampleContext } from '../../sandboxes/examples/sample-events.ts';
import {
  createTransformEngine,
  type RunLimits,
  type RunOutcome,
  type TransformEngine,
  type TransformEngineOptions,
} from '../../sandboxes/index.ts';

export function useEngine(options: TransformEngineOptions = {}, warmup: { typeChecker?: boolean } = { typeChecker: false }): { readonly engine: TransformEngine } {
  const holder = {} as { engine: TransformEngine };
  before(async () => {
    holder.engine = createTransformEngine(options);
    await holder.engine.warmup(warmup);
  });
  after(() => holder.engine.close());
  return holder;
}

let keys = 0;

/** Runs a TypeScript source against a call_completed event, under a fresh key. */
export function runTs(engine: TransformEngine, source: string, limits?: Partial<RunLimits>, event: unknown = callCompleted()): Promise<RunOutcome> {
  return engine.run({ accountId: SAMPLE_ACCOUNT, key: `test-${++keys}@1`, language: 'typescript', source, event, ctx: sampleContext, limits });
}

export function runJsonata(engine: TransformEngine, source: string, event: unknown = callCompleted(), limits?: Partial<RunLimits>): Promise<RunOutcome> {
  return engine.run({ accountId: SAMPLE_ACCOUNT, key: `test-${++keys}@1`, language: 'jsonata', source, event, ctx: sampleContext, limits });
}

export function expectError(outcome: RunOutcome, code: string): Extract<RunOutcome, { ok: false }>['error'] {
  assert.equal(outcome.ok, false, `expected ${code}, got ${JSON.stringify(outcome)}`);
  if (outcome.ok) throw new Error('unreachable');
  assert.equal(outcome.error.code, code, JSON.stringify(outcome.error));
  return outcome.error;
}

export function expectBody(outcome: RunOutcome): unknown {
  assert.equal(outcome.ok, true, `expected success, got ${JSON.stringify(outcome)}`);
  if (!outcome.ok) throw new Error('unreachable');
  assert.ok(outcome.result, 'expected a request, got a skip');
  return outcome.result.body;
}

export const HEALTHY = `export default () => ({ body: 'healthy' })`;

/** Proves the engine still serves after a bad script: the next run succeeds. */
export async function assertStillServes(engine: TransformEngine): Promise<void> {
  assert.equal(expectBody(await runTs(engine, HEALTHY)), 'healthy');
}

/** Resident memory of the real sandbox process, MB, from /proc/<pid>/status (Linux). */
export function sandboxRssMb(engine: TransformEngine): number {
  const pid = engine.stats().sandboxPid;
  assert.ok(pid, 'the sandbox process is running');
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  assert.ok(kb, `VmRSS of ${pid}`);
  return Number(kb) / 1024;
}

/** `work`'s outcome and the sandbox process's highest resident memory while it ran, sampled. */
export async function withPeakSandboxRss<T>(engine: TransformEngine, work: () => Promise<T>): Promise<{ value: T; beforeMb: number; peakMb: number }> {
  const beforeMb = sandboxRssMb(engine);
  let peakMb = beforeMb;
  const sample = () => {
    try {
      peakMb = Math.max(peakMb, sandboxRssMb(engine));
    } catch {
      // Between a crash and its restart there is no process to measure.
    }
  };
  const timer = setInterval(sample, 5);
  try {
    const value = await work();
    sample();
    return { value, beforeMb, peakMb };
  } finally {
    clearInterval(timer);
  }
}
