// The sandbox-neighbour scenarios of issue 19, on the engine itself (the real sandbox process):
// account B's trivial runs alone, beside A's four looping mapping tests, and beside A's flood of
// 1 010 looping runs, with the per-account queues, and with the single FIFO of before emulated (every
// run under one queue key, both slots open to it). Writes bench/results/transform-neighbours.md.
//
//   NODE_OPTIONS=--no-node-snapshot npx tsx bench/transform.ts --fairness-sandbox
import { setMaxListeners } from 'node:events';
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { callCompleted, sampleContext } from '../sandboxes/examples/sample-events.ts';
import { createTransformEngine, type TransformEngine } from '../sandboxes/index.ts';

const LOOP = `export default function transform(): null { for (;;) {} }`;
const TRIVIAL = `{"lead": data.lead_id}`;
/** A's scripts may run 5 s (the most a tenant may give its mappings). */
const LOOP_LIMITS = { timeoutMs: 5_000 };
const B_RUNS = 40;
const B_BUDGET_MS = 15_000;

type Layout = 'per-account' | 'one FIFO';

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

function loopFor(engine: TransformEngine, account: string, signal: AbortSignal) {
  return engine.run({ accountId: account, signal, key: 'bench-loop@1', language: 'typescript', source: LOOP, event: callCompleted(), ctx: sampleContext, limits: LOOP_LIMITS });
}

/** B's trivial filter-like runs, one after another, until B_RUNS or the budget. */
async function measureB(engine: TransformEngine, account: string): Promise<{ wall: number[]; failed: number; late: number }> {
  const wall: number[] = [];
  let failed = 0;
  let late = 0;
  const until = performance.now() + B_BUDGET_MS;
  for (let i = 0; i < B_RUNS && performance.now() < until; i++) {
    const started = performance.now();
    // A run still waiting when the budget ends is withdrawn and counted as late.
    const signal = AbortSignal.timeout(Math.max(1, Math.ceil(until - started)));
    const out = await engine.run({ accountId: account, signal, key: 'bench-b@1', language: 'jsonata', source: TRIVIAL, event: callCompleted(), ctx: sampleContext });
    if (!out.ok && out.error.code === 'cancelled') {
      late++;
      break;
    }
    wall.push(performance.now() - started);
    if (!out.ok) failed++;
  }
  return { wall, failed, late };
}

async function scenario(layout: Layout, neighbour: 'none' | 'four loops' | 'flood of 1 010'): Promise<string> {
  // "one FIFO": every run under one key with both slots open to it, as before issue 19.
  const engine = createTransformEngine(layout === 'one FIFO' ? { maxPerAccount: 1_000, maxRunningPerAccount: 2 } : {});
  await engine.warmup({ typeChecker: false });
  const a = 'acc_a';
  const b = layout === 'one FIFO' ? a : 'acc_b';
  const stop = new AbortController();
  // One signal for all of A's runs: each waiting run listens on it.
  setMaxListeners(0, stop.signal);
  const aRuns: Promise<unknown>[] = [];
  let refused = 0;
  try {
    if (neighbour === 'four loops') {
      // Four tests kept running: each is sent again as soon as it ends.
      for (let i = 0; i < 4; i++) {
        aRuns.push((async () => {
          while (!stop.signal.aborted) await loopFor(engine, a, stop.signal);
        })());
      }
    } else if (neighbour === 'flood of 1 010') {
      for (let i = 0; i < 1_010; i++) {
        aRuns.push(loopFor(engine, a, stop.signal).then((o) => {
          if (!o.ok && o.error.code === 'overloaded') refused++;
        }));
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    const { wall, failed, late } = await measureB(engine, b);
    const waitingWhenDone = engine.stats().queued;
    // A walks away: how long until the sandbox is free of A's work.
    const left = performance.now();
    stop.abort();
    await Promise.all(aRuns);
    const drainMs = performance.now() - left;
    const row = `| ${layout} | ${neighbour} | ${wall.length} | ${percentile(wall, 50).toFixed(1)} | ${percentile(wall, 99).toFixed(1)} | ${failed} | ${late} | ${refused} | ${waitingWhenDone} | ${neighbour === 'none' ? '—' : (drainMs / 1000).toFixed(1)} |`;
    console.log(row);
    return row;
  } finally {
    stop.abort();
    await engine.close();
  }
}

export async function sandboxNeighbours(): Promise<void> {
  const load = loadavg()[0]!;
  const rows: string[] = [];
  for (const layout of ['per-account', 'one FIFO'] as const) {
    for (const neighbour of ['none', 'four loops', 'flood of 1 010'] as const) rows.push(await scenario(layout, neighbour));
  }
  const report = [
    '# The sandbox between neighbours (issue 19)',
    '',
    `\`NODE_OPTIONS=--no-node-snapshot npx tsx bench/transform.ts --fairness-sandbox\`, ${new Date().toISOString().slice(0, 16)}Z: Node ${process.version},`,
    `${availableParallelism()} CPU, 1-min load average ${load.toFixed(1)} when it started${process.env.BENCH_NOTE ? ` (${process.env.BENCH_NOTE})` : ''}.`,
    '',
    `Account B runs a trivial JSONata filter, one run after another (${B_RUNS} runs or ${B_BUDGET_MS / 1000} s, whichever ends first),`,
    "alone, beside A's four looping mapping tests (5 s limit each, each sent again as soon as it ends), and",
    "beside A's flood of 1 010 looping runs. **per-account**: this release (a queue per account served in turn,",
    'one slot per account on the pool of 2, 200 runs per account). **one FIFO**: the queue before it, emulated on',
    "the same engine by putting every run under one key with both slots open to it. \"failed\": B's runs that",
    "did not run (overloaded); \"B still waiting\": a run of B not started when the budget ended; \"A refused\": A's runs refused at once as over its share; \"A left\": seconds",
    "from A walking away (its signals aborted) until none of its runs is left.",
    '',
    "| queue | A does | B runs | B p50 (ms) | B p99 (ms) | B failed | B still waiting at the end | A refused | still queued when B was done | A left (s) |",
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
  writeFileSync(new URL('./results/transform-neighbours.md', import.meta.url), report);
  console.log(`\n${report}`);
}
