// `npm run bench -- --temporal-floor`: what the Temporal dev server alone costs per workflow, with
// nothing of ours in it: no API, no store, no codec, no HTTP. A workflow that completes in its first
// task (the least any delivery could be) and one shaped like a happy-path delivery (a local activity's
// marker and a search-attribute upsert in that task), each started eagerly at a fixed open-loop rate
// against the dev server `npm start` runs (file-backed SQLite, WAL, synchronous FULL). The dev server's
// CPU per workflow is the floor under issue 19's "100 events/s on 2 cores": 2 cores are 2 000 ms of CPU
// per second, shared by the server, our process and the receiver.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type InjectedSinks } from '@temporalio/worker';
import type { FloorSinks } from './variants/floor-workflows.ts';
import { startDevServer } from '../src/temporal/dev-server.ts';
import { SA } from '../src/temporal/search-attributes.ts';
import { cpuSeconds, loadavg, machineCpu } from './lib/proc.ts';
import { onCleanup } from './lib/processes.ts';
import { summarize } from './lib/stats.ts';

export interface FloorRow {
  workflow: 'emptyWorkflow' | 'deliveryShapedWorkflow';
  rate: number;
  duration_s: number;
  started: number;
  completed: number;
  /** Start request → the workflow's code ran in the worker (a sink call after its activation), ms. */
  latency_ms: ReturnType<typeof summarize>;
  temporal_cpu_ms_per_workflow: number;
  bench_process_cpu_ms_per_workflow: number;
  machine_busy_pct: number;
  load_1min: [number, number];
}

const quiet = { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} } as never;

export async function temporalFloorBench(o: { rates: number[]; durationS: number; out: string; devServerArgs: string[]; log: (l: string) => void }): Promise<FloorRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'voiceoi-floor-'));
  onCleanup('floor data', () => rmSync(dir, { recursive: true, force: true }));
  const dev = await startDevServer({ namespace: 'default', headless: true, dbFile: join(dir, 'temporal.db'), extraArgs: o.devServerArgs, log: o.log });
  onCleanup('temporal dev server', () => dev.stop());
  if (dev.pid === undefined) throw new Error('the dev server has no pid to account');
  const connection = await NativeConnection.connect({ address: dev.address });
  onCleanup('connection', () => connection.close());
  const taskQueue = `floor-${randomBytes(4).toString('hex')}`;
  const { code } = await bundleWorkflowCode({ workflowsPath: new URL('./variants/floor-workflows.ts', import.meta.url).pathname, logger: quiet });
  const ran = new Map<string, () => void>();
  const sinks: InjectedSinks<FloorSinks> = { floor: { ran: { fn: (_info, id) => ran.get(id)?.(), callDuringReplay: false } } };
  const worker = await Worker.create({
    sinks,
    connection,
    taskQueue,
    workflowBundle: { code },
    activities: { nothing: async () => 1 },
    maxConcurrentWorkflowTaskExecutions: 40,
  });
  const running = worker.run();
  onCleanup('worker', async () => {
    worker.shutdown();
    await running;
  });
  const client = new Client({ connection, namespace: 'default' });
  const rows: FloorRow[] = [];
  for (const workflow of ['emptyWorkflow', 'deliveryShapedWorkflow'] as const) {
    for (const rate of o.rates) {
      // Warm-up, unmeasured: the worker's vm, the server's caches.
      await runAt(client, taskQueue, workflow, Math.min(rate, 20), 3, ran);
      const l0 = loadavg()[0]!;
      const m0 = machineCpu();
      const t0 = cpuSeconds(dev.pid)!;
      const b0 = process.cpuUsage();
      const latencies = await runAt(client, taskQueue, workflow, rate, o.durationS, ran);
      const t1 = cpuSeconds(dev.pid)!;
      const b1 = process.cpuUsage(b0);
      const m1 = machineCpu();
      const n = latencies.length;
      const row: FloorRow = {
        workflow,
        rate,
        duration_s: o.durationS,
        started: Math.round(rate * o.durationS),
        completed: n,
        latency_ms: summarize(latencies),
        temporal_cpu_ms_per_workflow: round(((t1 - t0) * 1000) / n),
        bench_process_cpu_ms_per_workflow: round((b1.user + b1.system) / 1000 / n),
        machine_busy_pct: round((100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total)),
        load_1min: [l0, loadavg()[0]!],
      };
      o.log(`${workflow} at ${rate}/s: ${n} completed, p50 ${row.latency_ms.p50} ms, p99 ${row.latency_ms.p99} ms, Temporal ${row.temporal_cpu_ms_per_workflow} ms CPU per workflow, this process ${row.bench_process_cpu_ms_per_workflow} ms`);
      rows.push(row);
    }
  }
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'temporal-floor.json'), `${JSON.stringify({ generated: new Date().toISOString(), dev_server_args: o.devServerArgs, rows }, null, 2)}\n`);
  writeFileSync(join(o.out, 'temporal-floor.md'), markdown(rows, o.devServerArgs));
  return rows;
}

/** Open loop: workflow i is started at t0 + i/rate whatever the earlier ones did. Answers each one's latency. */
async function runAt(client: Client, taskQueue: string, workflow: FloorRow['workflow'], rate: number, durationS: number, ran: Map<string, () => void>): Promise<number[]> {
  const total = Math.round(rate * durationS);
  const t0 = performance.now();
  const done: Promise<number>[] = [];
  for (let i = 0; i < total; i++) {
    const at = t0 + (i * 1000) / rate;
    const lag = at - performance.now();
    if (lag > 0) await new Promise((r) => setTimeout(r, lag));
    const s = performance.now();
    const workflowId = `floor-${randomBytes(8).toString('hex')}`;
    const finished = new Promise<number>((resolve) => ran.set(workflowId, () => resolve(performance.now() - s)));
    done.push(
      client.workflow
        .start(workflow, {
          taskQueue,
          workflowId,
          requestEagerStart: true,
          typedSearchAttributes: startAttributes(i),
        })
        .then(() => finished)
        .finally(() => ran.delete(workflowId)),
    );
  }
  return Promise.all(done);
}

/** As a delivery starts: the keyword search attributes src/ingest.ts sets at start (a call id, no lead id). */
const startAttributes = (i: number) => [
  { key: SA.account, value: 'acct_floor' },
  { key: SA.eventType, value: 'call_completed' },
  { key: SA.destination, value: 'dest_floor' },
  { key: SA.callId, value: `call_${i}` },
  { key: SA.status, value: 'pending' },
];

const round = (x: number) => Math.round(x * 10) / 10;

function markdown(rows: FloorRow[], devServerArgs: string[]): string {
  const L = [
    '# The Temporal floor: what the dev server costs per workflow, with nothing of ours',
    '',
    `Generated ${new Date().toISOString()} by \`npm run bench -- --temporal-floor\` (bench/temporal-floor.ts). The dev server as \`npm start\` runs it (file-backed SQLite, WAL, synchronous FULL, fairness on${devServerArgs.length ? `, plus \`${devServerArgs.join(' ')}\`` : ''}), one in-process worker, workflows started eagerly with a delivery's ${startAttributes(0).length} start-time search attributes. No API, store, codec or HTTP.`,
    '',
    '| workflow | rate /s | completed | p50 ms | p99 ms | Temporal CPU ms / workflow | bench process CPU ms / workflow | machine busy % | load 1 min (before → after) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows.map((r) => `| ${r.workflow} | ${r.rate} | ${r.completed} / ${r.started} | ${r.latency_ms.p50} | ${r.latency_ms.p99} | ${r.temporal_cpu_ms_per_workflow} | ${r.bench_process_cpu_ms_per_workflow} | ${r.machine_busy_pct} | ${r.load_1min.join(' → ')} |`),
    '',
    'Reading: 2 cores are 2 000 ms of CPU per second. At 100 workflows/s the dev server alone needs 100 × its CPU per workflow; what is left is what our process (ingest, store, codec, the attempt), the receiver and the load generator may spend per event.',
    '',
  ];
  return L.join('\n');
}
