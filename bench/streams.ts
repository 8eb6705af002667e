// Live streams of pull destinations (issue 20), on the product as `npm start` runs it:
//   1. latency from ingest (POST /v1/events answered 202... sent) to the message arriving on an open
//      SSE stream, at a fixed open-loop rate (default 20 events/s), p50/p99;
//   2. many idle open streams (default 500): the API process's RSS and CPU while they sit open.
// `node --no-node-snapshot --import tsx bench/streams.ts [--rate 20] [--duration 30] [--streams 500] [--idle 20]`
// Loopback only; every process it starts is stopped on the way out.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { sseEvents } from '../src/client/sse.ts';
import { sampleEvent } from '../src/events/samples.ts';
import { cleanupAll, installExitHandlers } from './lib/processes.ts';
import { memory, openWindow } from './lib/proc.ts';
import { startTimingReceiver } from './lib/receiver.ts';
import { json, startRuntime } from './lib/stack.ts';
import { summarize } from './lib/stats.ts';

const P99_TARGET_MS = 200;

function arg(name: string, fallback: number): number {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name}: expected a positive number`);
  return v;
}
const opts = { rate: arg('rate', 20), durationS: arg('duration', 30), streams: arg('streams', 500), idleS: arg('idle', 20) };

installExitHandlers();
const dir = mkdtempSync(join(tmpdir(), 'voiceoi-bench-streams-'));
const receiver = await startTimingReceiver();
try {
  const target = await startRuntime({
    dir,
    topology: 'single',
    env: { VOICEOI_STREAMS_PER_ACCOUNT: String(opts.streams + 10), LOG_LEVEL: 'warn' },
    devServerArgs: [],
    receiverUrl: receiver.url,
    logLevel: 'warn',
  });
  // The runtime's push destination takes call_completed; the stream carries another type, so the two do not mix.
  const dest = await json(`${target.url}/v1/destinations`, { method: 'POST', token: target.token, body: { mode: 'pull', event_types: ['handover_started'] } });
  const auth = { authorization: `Bearer ${target.token}` };

  // 1. Latency: one open stream, events at a fixed rate; the clock starts just before each POST is sent.
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const agent = new Agent();
  const res = await undiciFetch(`${target.url}/v1/destinations/${dest.id}/stream`, { headers: auth, dispatcher: agent });
  const reading = (async () => {
    for await (const e of sseEvents(res.body as ReadableStream<Uint8Array>)) {
      if (!e.data) continue;
      const id = (JSON.parse(e.data) as { event_id: string }).event_id;
      const t = sentAt.get(id);
      if (t !== undefined) latencies.push(performance.now() - t);
    }
  })().catch(() => {});
  // Warm-up, as the other benches do: the first events pay for JIT and first-use paths (pool
  // connections, caches) that a running install has long paid; their latencies are not counted.
  await Promise.all(
    Array.from({ length: Math.round(opts.rate * 2) }, (_, n) =>
      new Promise((r) => setTimeout(r, (n * 1000) / opts.rate)).then(() =>
        json(`${target.url}/v1/events`, { method: 'POST', token: target.token, body: sampleEvent('handover_started', `evt_warm_${n}`, new Date().toISOString()) }),
      ),
    ),
  );
  await new Promise((r) => setTimeout(r, 1000));
  const total = Math.round(opts.rate * opts.durationS);
  const t0 = performance.now();
  const posts: Promise<unknown>[] = [];
  for (let n = 0; n < total; n++) {
    const due = t0 + (n * 1000) / opts.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const id = `evt_stream_${n}`;
    sentAt.set(id, performance.now());
    posts.push(json(`${target.url}/v1/events`, { method: 'POST', token: target.token, body: sampleEvent('handover_started', id, new Date().toISOString()) }));
  }
  await Promise.all(posts);
  const deadline = Date.now() + 30_000;
  while (latencies.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await agent.destroy();
  await reading;
  const latency = summarize(latencies);

  // 2. Idle streams: open them, then watch the API for a while with nothing to send.
  const apiPid = target.pids.app!;
  const rssBefore = memory(apiPid)?.rssMiB ?? Number.NaN;
  const idleAgent = new Agent({ connections: opts.streams + 10 });
  const open: Promise<unknown>[] = [];
  for (let i = 0; i < opts.streams; i++) {
    const r = await undiciFetch(`${target.url}/v1/destinations/${dest.id}/stream`, { headers: auth, dispatcher: idleAgent });
    if (r.status !== 200) throw new Error(`stream ${i} answered ${r.status}`);
    open.push((async () => {
      for await (const _ of r.body as unknown as AsyncIterable<Uint8Array>) {
        // heartbeats only
      }
    })().catch(() => {}));
  }
  const window = openWindow({ api: apiPid }, 250);
  await new Promise((r) => setTimeout(r, opts.idleS * 1000));
  const idle = window.end();
  await idleAgent.destroy();
  await Promise.all(open);

  const report = {
    rate_per_s: opts.rate,
    events: total,
    received: latencies.length,
    ingest_to_stream_ms: latency,
    p99_target_ms: P99_TARGET_MS,
    p99_met: latency.p99 < P99_TARGET_MS,
    idle_streams: opts.streams,
    idle_window_s: idle.seconds,
    api_rss_before_mib: Math.round(rssBefore),
    api_rss_with_streams_mib: idle.processes.api!.peakRssMiB,
    api_cpu_pct_idle_streams: idle.processes.api!.cpuPct,
    machine_cpu_pct: idle.machineCpuPct,
    loadavg: idle.loadavgStart,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  await target.stop();
} finally {
  await receiver.close();
  await cleanupAll();
  rmSync(dir, { recursive: true, force: true });
}
