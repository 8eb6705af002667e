// Per-transform latency of the transform engine, end to end through engine.run() (the IPC to the
// sandbox process included): JSONata, TypeScript on the warm isolate pool, and the same TypeScript
// with a fresh isolate per call, on a call_completed event carrying a 200-turn transcript.
// Writes bench/results/transform.md.
//
//   NODE_OPTIONS=--no-node-snapshot npx tsx bench/transform.ts
//   … --fairness-sandbox: the neighbour scenarios of issue 19 instead (bench/transform-neighbours.ts)
//   (BENCH_RUNS / BENCH_FRESH_RUNS change the sample sizes)
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { callCompleted, SAMPLE_ACCOUNT, sampleContext } from '../sandboxes/examples/sample-events.ts';
import { sandboxNeighbours } from './transform-neighbours.ts';
import { createTransformEngine, type MappingLanguage, type RunOutcome, type TransformEngine } from '../sandboxes/index.ts';

const TURNS = 200;
const RUNS = Number(process.env.BENCH_RUNS ?? 3000);
const FRESH_RUNS = Number(process.env.BENCH_FRESH_RUNS ?? 300);
const WARMUP_RUNS = 300;
// Generous: this measures latency, a loaded machine must not turn samples into failures.
const LIMITS = { timeoutMs: 1_000 };

/** What most CRM mappings do: pick and rename fields. */
const FIELDS = {
  typescript: `import type { VoiceOIEvent, TransformContext, TransformResult } from 'voiceoi';

export default function transform(event: VoiceOIEvent, ctx: TransformContext): TransformResult {
  if (event.type !== 'call_completed') return null;
  const d = event.data;
  return {
    method: 'PATCH',
    path: '/crm/v3/objects/contacts/' + d.lead_id,
    headers: { 'X-Mapping-Version': String(ctx.mapping.version) },
    body: {
      properties: {
        last_call_id: d.call_id,
        last_call_minutes: Math.round(d.duration_s / 6) / 10,
        last_call_sentiment: d.sentiment.label,
        last_call_disposition: d.disposition,
        last_call_summary: d.summary,
        last_call_recording: d.recording_url ?? null,
      },
    },
  };
}
`,
  jsonata: `type = 'call_completed' ? {
  "properties": {
    "last_call_id": data.call_id,
    "last_call_minutes": $round(data.duration_s / 60, 1),
    "last_call_sentiment": data.sentiment.label,
    "last_call_disposition": data.disposition,
    "last_call_summary": data.summary,
    "last_call_recording": data.recording_url
  }
}`,
};

/** Heavier: walks the 200 turns three times (talk time, first caller words, count). */
const TRANSCRIPT = {
  typescript: `import type { VoiceOIEvent, TransformResult } from 'voiceoi';

interface Turn { speaker: string; text: string; start_s: number; end_s: number }

export default function transform(event: VoiceOIEvent): TransformResult {
  if (event.type !== 'call_completed') return null;
  const d = event.data;
  const turns = (d.transcript as Turn[] | undefined) ?? [];
  let agent = 0;
  for (const t of turns) if (t.speaker === 'agent') agent += t.end_s - t.start_s;
  return {
    body: {
      lead: d.lead_id,
      agent_talk_ratio: Math.round((agent / d.duration_s) * 100),
      caller_first_words: turns.find((t) => t.speaker === 'caller')?.text ?? null,
      turns: turns.length,
    },
  };
}
`,
  jsonata: `type = 'call_completed' ? {
  "lead": data.lead_id,
  "agent_talk_ratio": $round($sum(data.transcript[speaker = 'agent'].(end_s - start_s)) / data.duration_s * 100),
  "caller_first_words": data.transcript[speaker = 'caller'][0].text,
  "turns": $count(data.transcript)
}`,
};

interface Sample {
  wall: number[];
  sandbox: number[];
}

async function measure(engine: TransformEngine, key: string, language: MappingLanguage, source: string, runs: number, warmup: number): Promise<Sample> {
  const event = callCompleted({ transcriptTurns: TURNS });
  const request = { accountId: SAMPLE_ACCOUNT, key, language, source, event, ctx: sampleContext, limits: LIMITS };
  const check = (out: RunOutcome) => {
    if (!out.ok) throw new Error(`${key} failed: ${JSON.stringify(out.error)}`);
  };
  for (let i = 0; i < warmup; i++) check(await engine.run(request));
  const sample: Sample = { wall: [], sandbox: [] };
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const out = await engine.run(request);
    sample.wall.push(performance.now() - started);
    check(out);
    sample.sandbox.push(out.duration_ms);
  }
  return sample;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const ms = (value: number) => value.toFixed(3);

async function main(): Promise<void> {
  const eventBytes = Buffer.byteLength(JSON.stringify(callCompleted({ transcriptTurns: TURNS })));
  const warm = createTransformEngine();
  const fresh = createTransformEngine({ freshIsolatePerRun: true });
  await Promise.all([warm.warmup({ typeChecker: false }), fresh.warmup({ typeChecker: false })]);
  const load = loadavg()[0]!;
  const rows: string[] = [];
  try {
    for (const [workload, sources] of [
      ['fields', FIELDS],
      ['transcript', TRANSCRIPT],
    ] as const) {
      const cases: [string, TransformEngine, MappingLanguage, number][] = [
        ['JSONata', warm, 'jsonata', RUNS],
        ['TypeScript, warm isolate pool', warm, 'typescript', RUNS],
        ['TypeScript, fresh isolate per call', fresh, 'typescript', FRESH_RUNS],
      ];
      for (const [name, engine, language, runs] of cases) {
        const sample = await measure(engine, `bench-${workload}-${language}@1`, language, sources[language], runs, Math.min(WARMUP_RUNS, runs));
        rows.push(
          `| ${workload} | ${name} | ${runs} | **${ms(percentile(sample.wall, 50))}** | ${ms(percentile(sample.wall, 99))} | ${ms(percentile(sample.sandbox, 50))} | ${ms(percentile(sample.sandbox, 99))} |`,
        );
        console.log(rows.at(-1));
      }
    }
  } finally {
    await Promise.all([warm.close(), fresh.close()]);
  }

  const report = [
    '# Transform engine benchmark',
    '',
    `\`NODE_OPTIONS=--no-node-snapshot npx tsx bench/transform.ts\`, ${new Date().toISOString().slice(0, 16)}Z: Node ${process.version},`,
    `${availableParallelism()} CPU (${cpus()[0]?.model.trim() ?? 'unknown'}), 1-min load average ${load.toFixed(1)} when it started${process.env.BENCH_NOTE ? ` (${process.env.BENCH_NOTE})` : ''}.`,
    '',
    `Input: a \`call_completed\` event carrying a ${TURNS}-turn transcript (${(eventBytes / 1024).toFixed(1)} KiB of JSON). Runs are sequential.`,
    '',
    '- **fields**: the usual CRM mapping, picking and renaming 6 fields (a PATCH with path and header in TypeScript).',
    '- **transcript**: talk time, first caller words and turn count computed over the 200 turns.',
    '- **end to end**: `await engine.run()` as the delivery worker sees it: input serialised, IPC to the',
    '  sandbox process and back, result checked.',
    '- **in sandbox**: the `duration_ms` the engine reports: time inside the sandbox process.',
    '',
    '| mapping | transform | runs | end to end p50 (ms) | end to end p99 (ms) | in sandbox p50 (ms) | in sandbox p99 (ms) |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    'Targets: TypeScript warm p50 < 1 ms, JSONata p50 < 0.3 ms.',
    '',
    '## Where the time goes (measured separately on the same machine: Node 20.20, isolated-vm 5.0.4)',
    '',
    '- Crossing to the sandbox process: `JSON.stringify` of this event ~0.10 ms, IPC round trip ~0.12 ms,',
    '  `JSON.parse` on the other side ~0.08 ms. With a tiny event the whole JSONata round trip is ~0.1 ms.',
    '  Structured clone (v8.serialize) of the object instead of a JSON string was slower (0.06 + 0.15 ms).',
    '- A fresh V8 context per TypeScript run (the isolation between runs) costs ~0.55 ms of CPU. It is',
    '  prepared after each run, off the critical path, but on 2 cores it competes with the next run: a',
    '  trivial transform on this event measured ~0.7 ms end to end when one context per isolate was',
    '  reused (which would let a run see what the previous one left behind), ~1.2–1.5 ms with fresh ones.',
    '- JSONata 2 evaluates asynchronously, step by step, with a time check per step: scanning the',
    '  200 turns three times costs ~1.2 ms of evaluation alone (~1.7 ms with the guard).',
    '',
  ].join('\n');
  writeFileSync(new URL('./results/transform.md', import.meta.url), report);
  console.log(`\n${report}`);
}

if (process.argv.includes('--fairness-sandbox')) await sandboxNeighbours();
else await main();
