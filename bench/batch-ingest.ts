// What POST /v1/events/batch saves against POST /v1/events: requests, and the ingest CPU per event.
//
//   node --no-node-snapshot --import tsx bench/batch-ingest.ts [events=1000]
//   BENCH_TOPOLOGY=single …   one process (npm start: eager start on) instead of api + worker
//   BENCH_CPU_PROF=dir …       the product's processes write V8 CPU profiles there
//   BENCH_MODES=batch …        the measured modes, in order (default single,batch,single,batch)
//
// The product runs as bench/lib/stack.ts starts it (a file-backed dev server; by default an API process
// and a worker process, so the API's CPU is ingest alone). Each mode sends the same number of events
// after a warm-up, closed loop: single with SINGLE_CONCURRENCY requests in flight, batch with 100
// events per request and BATCH_CONCURRENCY requests in flight. The window runs from the first request
// until the receiver has every event; CPU is read from /proc per process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eachAtMost } from '../src/concurrency.ts';
import { callCompleted } from '../test/support/events.ts';
import { openWindow } from './lib/proc.ts';
import { cleanupAll, installExitHandlers, onCleanup } from './lib/processes.ts';
import { startTimingReceiver } from './lib/receiver.ts';
import { startRuntime, type Target, type Topology } from './lib/stack.ts';

const EVENTS = Number(process.argv[2] ?? 1000);
const PER_BATCH = 100;
const SINGLE_CONCURRENCY = Number(process.env.SINGLE_CONCURRENCY ?? 8);
const BATCH_CONCURRENCY = Number(process.env.BATCH_CONCURRENCY ?? 1);
const topology = (process.env.BENCH_TOPOLOGY ?? 'split') as Topology;

async function post(target: Target, path: string, body: unknown): Promise<any> {
  const res = await fetch(target.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await res.json();
  if (res.status !== 202) throw new Error(`${path}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}


type Mode = 'single' | 'batch';

async function send(target: Target, mode: Mode, ids: string[]): Promise<number> {
  // Ten calls' worth of events interleaved, as the platform sends a busy second.
  const events = ids.map((id, i) => callCompleted(id, { call_id: `call_${i % 10}_${id.slice(0, 12)}` }));
  if (mode === 'single') {
    await eachAtMost(events, SINGLE_CONCURRENCY, async (e) => void (await post(target, '/v1/events', e)));
    return events.length;
  }
  const batches = Array.from({ length: Math.ceil(events.length / PER_BATCH) }, (_, b) => events.slice(b * PER_BATCH, (b + 1) * PER_BATCH));
  await eachAtMost(batches, BATCH_CONCURRENCY, async (events) => {
    const answer = await post(target, '/v1/events/batch', events);
    if (answer.refused > 0) throw new Error(`batch refused ${answer.refused}: ${JSON.stringify(answer.results.find((r: { code?: string }) => r.code))}`);
  });
  return batches.length;
}

async function waitDelivered(receiver: { firstByte: Map<string, number> }, ids: string[], timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ids.every((id) => receiver.firstByte.has(id))) {
    if (Date.now() > deadline) throw new Error(`only ${ids.filter((id) => receiver.firstByte.has(id)).length}/${ids.length} delivered`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function measure(target: Target, receiver: { firstByte: Map<string, number> }, mode: Mode, tag: string) {
  const ids = Array.from({ length: EVENTS }, (_, i) => `evt_${tag}_${i}`);
  const window = openWindow(target.pids);
  const t0 = performance.now();
  const requests = await send(target, mode, ids);
  const ingestS = (performance.now() - t0) / 1000;
  await waitDelivered(receiver, ids);
  const usage = window.end();
  const msPerEvent = Object.fromEntries(
    Object.entries(usage.processes).map(([name, p]) => [name, Math.round(((p.cpuPct / 100) * usage.seconds * 1000 * 100) / EVENTS) / 100]),
  );
  return { mode, events: EVENTS, requests, ingest_s: Math.round(ingestS * 100) / 100, ingest_events_per_s: Math.round(EVENTS / ingestS), window_s: usage.seconds, cpu_ms_per_event: msPerEvent, machine_cpu_pct: usage.machineCpuPct, loadavg: usage.loadavgEnd };
}

async function main(): Promise<void> {
  installExitHandlers();
  const dir = mkdtempSync(join(tmpdir(), 'voiceoi-bench-batch-'));
  onCleanup('bench dir', () => rmSync(dir, { recursive: true, force: true }));
  const receiver = await startTimingReceiver();
  onCleanup('receiver', () => receiver.close());
  const prof = process.env.BENCH_CPU_PROF;
  const nodeArgs = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
  const target = await startRuntime({ dir, topology, env: {}, devServerArgs: [], receiverUrl: receiver.url, logLevel: 'warn', nodeArgs });
  onCleanup('runtime', () => target.stop());
  process.stderr.write(`[bench] ${topology} runtime up in ${target.startupS} s; ${EVENTS} events per mode\n`);

  // Warm-up, unmeasured: both routes JIT-compiled, connections and the workflow cache warm.
  const warm = Array.from({ length: 200 }, (_, i) => `evt_warm_${i}`);
  await send(target, 'single', warm.slice(0, 100));
  await send(target, 'batch', warm.slice(100));
  await waitDelivered(receiver, warm);

  const results = [];
  const modes = (process.env.BENCH_MODES ?? 'single,batch,single,batch').split(',') as Mode[];
  for (const mode of modes) results.push(await measure(target, receiver, mode, `${mode}${results.length}`));
  console.log(JSON.stringify({ topology, single_concurrency: SINGLE_CONCURRENCY, batch_concurrency: BATCH_CONCURRENCY, results }, null, 2));
}

main().then(cleanupAll, async (err) => {
  console.error(err);
  await cleanupAll();
  process.exitCode = 1;
});
