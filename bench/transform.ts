// Per-transform latency of the transform engine, end to end through engine.run() (IPC to the
// sandbox process included): JSONata, TypeScript on the warm isolate pool, and the same
// TypeScript with a fresh isolate per call. Writes bench/results/transform.md.
//
//   NODE_OPTIONS=--no-node-snapshot npx tsx bench/transform.ts
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { createTransformEngine, type RunOutcome, type RunRequest, type TransformEngine } from '../sandboxes/index.ts';

const TURNS = 200;
const WARM_RUNS = Number(process.env.BENCH_RUNS ?? 3000);
const FRESH_RUNS = Number(process.env.BENCH_FRESH_RUNS ?? 300);
const WARMUP_RUNS = 300;

const phrases = [
  'Hi, this is Ava calling from Brightline Solar about the quote you requested last week.',
  'Oh right, yes, I filled in the form on your website on Tuesday I think.',
  'Great. Do you own the property, and is the roof facing south or west?',
  'We own it, and the back of the house faces south-west, there is no shade at all.',
  'Perfect. Your average electricity bill, roughly how much is it per month?',
  'Around one hundred and eighty dollars in summer, a bit less in winter.',
];

/** A post-call payload as the platform sends it: call_completed plus the full transcript. */
export function realisticEvent() {
  const transcript = Array.from({ length: TURNS }, (_, i) => ({
    speaker: i % 2 === 0 ? 'agent' : 'caller',
    text: phrases[i % phrases.length]!,
    start_s: i * 4.2,
    end_s: i * 4.2 + 3.9,
  }));
  return {
    id: 'evt_01HZX3M4Q8F5R2T7V9W0Y1Z2A3',
    type: 'call_completed' as const,
    occurred_at: '2025-03-14T15:09:26.535Z',
    account_id: 'acc_bpo_northwind',
    data: {
      call_id: 'call_7f3e9a21',
      lead_id: '884',
      campaign_id: 'cmp_solar_q1',
      duration_s: 842.6,
      cost: { amount: 0.97, currency: 'USD' },
      sentiment: { label: 'positive' as const, score: 0.71 },
      summary: 'Homeowner interested in a 6 kW system; south-west roof, no shade; bill ~$180/month. Wants a callback Thursday.',
      disposition: 'qualified_callback',
      recording_url: 'https://recordings.voiceoi.example/call_7f3e9a21.mp3',
      transcript,
    },
  };
}

const TS_SOURCE = `import type { VoiceOIEvent, TransformContext, TransformResult } from 'voiceoi';

interface Turn { speaker: string; text: string; start_s: number; end_s: number }

export default function transform(event: VoiceOIEvent, ctx: TransformContext): TransformResult {
  if (event.type !== 'call_completed') return null;
  const d = event.data;
  const turns = (d.transcript as Turn[] | undefined) ?? [];
  const talk: Record<string, number> = {};
  for (const t of turns) talk[t.speaker] = (talk[t.speaker] ?? 0) + (t.end_s - t.start_s);
  return {
    method: 'PATCH',
    path: '/crm/v3/objects/contacts/' + d.lead_id,
    headers: { 'X-Mapping-Version': String(ctx.mapping.version) },
    body: {
      properties: {
        last_call_id: d.call_id,
        last_call_duration_min: Math.round(d.duration_s / 6) / 10,
        last_call_sentiment: d.sentiment.label,
        last_call_disposition: d.disposition,
        last_call_summary: d.summary,
        agent_talk_ratio: Math.round((talk.agent ?? 0) / Math.max(1, d.duration_s) * 100),
        caller_first_words: turns.find((t) => t.speaker === 'caller')?.text ?? null,
        turns: turns.length,
      },
    },
  };
}
`;

const JSONATA_SOURCE = `type = 'call_completed' ? {
  "properties": {
    "last_call_id": data.call_id,
    "last_call_duration_min": $round(data.duration_s / 60, 1),
    "last_call_sentiment": data.sentiment.label,
    "last_call_disposition": data.disposition,
    "last_call_summary": data.summary,
    "agent_talk_ratio": $round($sum(data.transcript[speaker = 'agent'].(end_s - start_s)) / data.duration_s * 100),
    "caller_first_words": data.transcript[speaker = 'caller'][0].text,
    "turns": $count(data.transcript)
  }
}`;

const ctx = {
  destination: { id: 'dst_hubspot', url: 'https://api.hubapi.example' },
  delivery: { id: 'dlv_1', attempt: 1 },
  mapping: { id: 'map_hubspot', version: 3 },
};

interface Sample {
  wall: number[];
  sandbox: number[];
}

async function measure(engine: TransformEngine, request: RunRequest, runs: number, warmup: number): Promise<Sample> {
  const check = (out: RunOutcome) => {
    if (!out.ok) throw new Error(`${request.language} run failed: ${JSON.stringify(out.error)}`);
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

const fmt = (ms: number) => ms.toFixed(3);

async function main(): Promise<void> {
  const event = realisticEvent();
  const eventBytes = Buffer.byteLength(JSON.stringify(event));
  const warm = createTransformEngine();
  const fresh = createTransformEngine({ freshIsolatePerRun: true });
  await Promise.all([warm.warmup(), fresh.warmup()]);
  const base = { event, ctx };
  const rows: [string, Sample, number][] = [];
  try {
    const jsonataRuns = await measure(warm, { ...base, key: 'bench-jsonata@1', language: 'jsonata', source: JSONATA_SOURCE }, WARM_RUNS, WARMUP_RUNS);
    rows.push(['JSONata', jsonataRuns, WARM_RUNS]);
    const tsWarm = await measure(warm, { ...base, key: 'bench-ts@1', language: 'typescript', source: TS_SOURCE }, WARM_RUNS, WARMUP_RUNS);
    rows.push(['TypeScript, warm isolate pool', tsWarm, WARM_RUNS]);
    const tsFresh = await measure(fresh, { ...base, key: 'bench-ts@1', language: 'typescript', source: TS_SOURCE }, FRESH_RUNS, 20);
    rows.push(['TypeScript, fresh isolate per call', tsFresh, FRESH_RUNS]);
  } finally {
    await Promise.all([warm.close(), fresh.close()]);
  }

  const lines = [
    '# Transform engine benchmark',
    '',
    `Generated by \`bench/transform.ts\` on ${new Date().toISOString().slice(0, 10)}: Node ${process.version}, ${availableParallelism()} CPU (${cpus()[0]?.model.trim() ?? 'unknown'}).`,
    '',
    `Input: a \`call_completed\` event with a ${TURNS}-turn transcript (${(eventBytes / 1024).toFixed(1)} KiB of JSON); the mapping builds a CRM`,
    'contact update (8 fields, talk time summed over the transcript). Runs are sequential, one at a time.',
    '',
    '- **end to end**: `await engine.run()` in the calling process: JSON of the input, IPC to the sandbox',
    '  process and back, result checks.',
    '- **in sandbox**: `duration_ms` as reported, the part spent in the sandbox process.',
    '',
    '| transform | runs | end to end p50 (ms) | end to end p99 (ms) | in sandbox p50 (ms) | in sandbox p99 (ms) |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(([name, s, n]) =>
      `| ${name} | ${n} | ${fmt(percentile(s.wall, 50))} | ${fmt(percentile(s.wall, 99))} | ${fmt(percentile(s.sandbox, 50))} | ${fmt(percentile(s.sandbox, 99))} |`,
    ),
    '',
    'Targets: TypeScript warm p50 < 1 ms, JSONata p50 < 0.3 ms.',
    '',
  ];
  const table = lines.join('\n');
  writeFileSync(new URL('./results/transform.md', import.meta.url), table);
  console.log(table);
}

await main();
