// `npm run bench -- --cost`: what one delivery costs, counted, never estimated. The npm start topology
// (bench/lib/stack.ts); a steady rate of happy-path events, then events to a destination whose receiver
// answers 500 once per webhook-id (one retry each); every process's CPU from /proc over each phase; then
// the real history of every workflow the phase ran (bench/lib/history-count.ts). See bench/README.md.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import type proto from '@temporalio/proto';
import { startPostgres } from '../test/support/postgres.ts';
import { addCounts, countHistory, emptyCounts, eventsBetween, eventTimeMs, perUnit, totalActions, type HistoryCounts } from './lib/history-count.ts';
import { sendOpenLoop } from './lib/load.ts';
import { onCleanup, productEntry, repoRoot } from './lib/processes.ts';
import { loadavg, openWindow, threadCpu, threadCpuDelta, treeCpuSeconds, type WindowUsage } from './lib/proc.ts';
import { profileMarkdown, summarizeProfiles } from './lib/profile-summary.ts';
import { startTimingReceiver } from './lib/receiver.ts';
import { gitCommit, machine } from './lib/run-info.ts';
import { json, startRuntime, type Target } from './lib/stack.ts';
import { summarize, type Summary } from './lib/stats.ts';

type History = proto.temporal.api.history.v1.IHistory;
type WorkflowService = Connection['workflowService'];

const DELIVERY_TYPE = 'deliveryWorkflow';
const FLAKY_PATH = '/flaky';

function positive(text: string, what: string, max: number): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0 || v > max) throw new Error(`${what}: expected a number in [0, ${max}], got '${text}'`);
  return v;
}

export interface CostOptions {
  rate: number;
  durationS: number;
  retryEvents: number;
  retryRate: number;
  /** Events to a destination with rate_limit_per_s high enough that nothing waits (0: no such phase). */
  limitedEvents: number;
  database: 'sqlite' | 'postgres';
  appRoot: string;
  label: string;
  out: string;
  nodeArgs: string[];
  logLevel: string;
  devServerArgs: string[];
  temporalDb: 'file' | 'memory';
  temporalAddress?: string;
}

export function costOptions(env: NodeJS.ProcessEnv, common: { out: string; nodeArgs: string[]; logLevel: string; devServerArgs: string[]; temporalDb: 'file' | 'memory'; temporalAddress?: string }): CostOptions {
  const database = env.BENCH_DATABASE ?? 'sqlite';
  if (database !== 'sqlite' && database !== 'postgres') throw new Error(`BENCH_DATABASE: 'sqlite' or 'postgres', got '${database}'`);
  const appRoot = resolve(env.BENCH_APP_ROOT ?? repoRoot);
  if (!existsSync(join(appRoot, 'src/server.ts'))) throw new Error(`BENCH_APP_ROOT: no src/server.ts under ${appRoot}`);
  const commit = env.BENCH_APP_COMMIT ?? gitCommit(appRoot);
  return {
    ...common,
    rate: positive(env.BENCH_COST_RATE ?? '10', 'BENCH_COST_RATE', 1000) || 10,
    durationS: positive(env.BENCH_COST_DURATION_S ?? '30', 'BENCH_COST_DURATION_S', 3600) || 30,
    retryEvents: Math.round(positive(env.BENCH_COST_RETRY_EVENTS ?? '50', 'BENCH_COST_RETRY_EVENTS', 100_000)),
    retryRate: positive(env.BENCH_COST_RETRY_RATE ?? '5', 'BENCH_COST_RETRY_RATE', 1000) || 5,
    limitedEvents: Math.round(positive(env.BENCH_COST_LIMITED_EVENTS ?? '0', 'BENCH_COST_LIMITED_EVENTS', 100_000)),
    database,
    appRoot,
    label: env.BENCH_COST_LABEL ?? `${commit} ${database}`,
  };
}

/** Per-delivery figures of one phase of one run. */
export interface PhaseResult {
  phase: 'happy path' | 'one retry' | 'rate-limited destination';
  rate: number;
  sent: number;
  accepted: number;
  /** Delivery workflows started in the phase (should equal accepted). */
  deliveries: number;
  /** Accepted events whose delivery never got a 200 from the receiver. */
  undelivered: number;
  window_s: number;
  /** Send start → the receiver's 200 (for one retry: the second attempt's first byte), ms. */
  latency_ms: Summary;
  cpu_ms_per_delivery: Record<string, number>;
  /** Our process's CPU by thread kind (/proc/<pid>/task), ms per delivery. */
  app_threads_ms_per_delivery: Record<string, number>;
  /** The delivery workflows' own histories, per delivery. */
  delivery: HistoryCounts;
  /** Other workflows with events in the phase, by type: their events in the window, per delivery. */
  helpers: Record<string, { executions: number; counts: HistoryCounts }>;
  actions_per_delivery: number;
  usage: WindowUsage;
  /** The window on the monotonic clock (process.hrtime µs): the clock of the CPU profiles. */
  monotonic_us: [number, number];
}

export interface CostRun {
  label: string;
  generated_at: string;
  commit: string;
  app_root: string;
  database: 'sqlite' | 'postgres';
  machine: Record<string, string | number>;
  options: Record<string, unknown>;
  loadavg_start: number[];
  loadavg_end: number[];
  startup_s: number;
  /** CPU of each process while nothing was sent, ms per second: the floor every window carries. */
  idle_cpu_ms_per_s: Record<string, number>;
  phases: PhaseResult[];
  profile_md?: string;
}

const hrUs = (): number => Number(process.hrtime.bigint() / 1000n);

async function executions(svc: WorkflowService, namespace: string): Promise<{ workflowId: string; runId: string; type: string }[]> {
  const out: { workflowId: string; runId: string; type: string }[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const r = await svc.listWorkflowExecutions({ namespace, pageSize: 1000, nextPageToken });
    for (const e of r.executions ?? []) out.push({ workflowId: e.execution!.workflowId!, runId: e.execution!.runId!, type: e.type?.name ?? '?' });
    nextPageToken = r.nextPageToken?.length ? r.nextPageToken : undefined;
  } while (nextPageToken);
  return out;
}

/** The whole history of one run, raw: payloads stay encoded (and encrypted). */
export async function rawHistory(svc: WorkflowService, namespace: string, workflowId: string, runId: string): Promise<History> {
  const events: proto.temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const r = await svc.getWorkflowExecutionHistory({ namespace, execution: { workflowId, runId }, nextPageToken, maximumPageSize: 1000 });
    events.push(...(r.history?.events ?? []));
    nextPageToken = r.nextPageToken?.length ? r.nextPageToken : undefined;
  } while (nextPageToken);
  return { events };
}

async function runningDeliveries(svc: WorkflowService, namespace: string): Promise<number> {
  const r = await svc.countWorkflowExecutions({ namespace, query: `WorkflowType = '${DELIVERY_TYPE}' AND ExecutionStatus = 'Running'` });
  return Number(r.count ?? 0);
}

interface RawPhase {
  phase: PhaseResult['phase'];
  rate: number;
  wallMs: [number, number];
  monotonicUs: [number, number];
  sent: number;
  accepted: string[];
  undelivered: number;
  latencies: number[];
  usage: WindowUsage;
  threadsMs: Record<string, number>;
  postgresMs?: number;
}

export async function costBench(o: CostOptions, ctx: { dir: string; temporalCli: string; log: (line: string) => void }): Promise<void> {
  const { log } = ctx;
  const loadStart = loadavg();
  const receiver = await startTimingReceiver({ failFirstUnder: FLAKY_PATH });
  onCleanup('receiver', () => receiver.close());
  const env: Record<string, string> = {};
  let postgresPid: (() => number | undefined) | undefined;
  if (o.database === 'postgres') {
    log('starting a throwaway PostgreSQL (durable: fsync on)');
    const pg = await startPostgres({ durable: true });
    onCleanup('postgres', () => pg.stop());
    env.DATABASE_URL = pg.url;
    // With DATABASE_URL a process takes its keys from the environment, never from its data directory.
    env.VOICEOI_MASTER_KEYS = `bench:${randomBytes(32).toString('base64')}`;
    postgresPid = pg.pid;
  }
  log(`starting the runtime from ${o.appRoot} (one process: API + worker, as npm start) on ${o.database}`);
  const runtime = await startRuntime({
    dir: join(ctx.dir, 'runtime'),
    topology: 'single',
    env,
    devServerArgs: o.devServerArgs,
    receiverUrl: receiver.url,
    logLevel: o.logLevel,
    nodeArgs: o.nodeArgs,
    temporalDb: o.temporalDb,
    temporalAddress: o.temporalAddress,
    appRoot: o.appRoot,
  });
  const removeRuntime = onCleanup('runtime', () => runtime.stop());
  log(`runtime up in ${runtime.startupS} s at ${runtime.url}`);
  const temporal = runtime.temporal!;
  const connection = await Connection.connect({ address: temporal.address });
  const removeClient = onCleanup('temporal client', () => connection.close());
  const svc = connection.workflowService;

  // The one-retry destination has an account of its own, so its events fan out to it alone.
  const flakyAccount = await json(`${runtime.url}/v1/accounts`, { method: 'POST', token: runtime.adminToken!, body: { name: 'Bench flaky receiver' } });
  await json(`${runtime.url}/v1/destinations`, {
    method: 'POST',
    token: flakyAccount.api_key,
    body: { url: `${receiver.url}${FLAKY_PATH}`, event_types: ['call_completed'], retry_schedule_s: [0, 1] },
  });
  const flaky: Target = { ...runtime, token: flakyAccount.api_key as string };
  // A rate limit no event waits for: what the limiter's permit round trip alone costs (its helper workflow).
  const limitedAccount = await json(`${runtime.url}/v1/accounts`, { method: 'POST', token: runtime.adminToken!, body: { name: 'Bench rate-limited destination' } });
  await json(`${runtime.url}/v1/destinations`, {
    method: 'POST',
    token: limitedAccount.api_key,
    body: { url: `${receiver.url}/limited`, event_types: ['call_completed'], rate_limit_per_s: 1000 },
  });
  const limited: Target = { ...runtime, token: limitedAccount.api_key as string };

  const pids = runtime.pids;
  let seq = 0;
  const phase = async (name: PhaseResult['phase'], target: Target, rate: number, durationS: number): Promise<RawPhase> => {
    const wall0 = Date.now();
    const mono0 = hrUs();
    const window = openWindow(pids);
    const threads0 = threadCpu(pids.app!);
    const pgPid = postgresPid?.();
    const pg0 = pgPid ? treeCpuSeconds(pgPid) : undefined;
    const sent = await sendOpenLoop({ baseUrl: target.url, token: target.token, rate, durationS, idPrefix: `cost-${process.pid}-${seq++}` });
    const accepted = [...sent].filter(([, s]) => s.status === 202).map(([id]) => id);
    const deadline = Date.now() + 120_000;
    while (accepted.some((id) => !receiver.okAt.has(id)) && Date.now() < deadline) await sleep(50);
    // The workflow completes a workflow task after its attempt returned: wait for that too.
    while ((await runningDeliveries(svc, temporal.namespace)) > 0 && Date.now() < deadline) await sleep(200);
    const usage = window.end();
    const threadsMs = threadCpuDelta(threads0, threadCpu(pids.app!));
    const pg1 = pgPid ? treeCpuSeconds(pgPid) : undefined;
    const result: RawPhase = {
      phase: name,
      rate,
      wallMs: [wall0, Date.now()],
      monotonicUs: [mono0, hrUs()],
      sent: sent.size,
      accepted,
      undelivered: accepted.filter((id) => !receiver.okAt.has(id)).length,
      latencies: accepted.filter((id) => receiver.okAt.has(id)).map((id) => receiver.okAt.get(id)! - sent.get(id)!.start),
      usage,
      threadsMs,
      postgresMs: pg0 !== undefined && pg1 !== undefined ? (pg1 - pg0) * 1000 : undefined,
    };
    log(`${name} @ ${rate}/s: ${accepted.length}/${sent.size} accepted, ${result.undelivered} undelivered; ${Object.entries(usage.processes).map(([k, u]) => `${k} ${u.cpuPct} %`).join(', ')}; load ${usage.loadavgEnd[0]}`);
    return result;
  };

  // Unmeasured: JIT, pools, caches and the dev server warm up on both paths.
  log('warm-up');
  await phase('happy path', runtime, 10, 5);
  if (o.retryEvents > 0) await phase('one retry', flaky, 5, 2);
  if (o.limitedEvents > 0) await phase('rate-limited destination', limited, 5, 2);
  await sleep(1000);
  const idle = openWindow(pids);
  const pgIdlePid = postgresPid?.();
  const pgIdle0 = pgIdlePid ? treeCpuSeconds(pgIdlePid) : undefined;
  await sleep(3000);
  const idleUsage = idle.end();
  // % of one core × 10 = ms of CPU per second.
  const idleCpu: Record<string, number> = Object.fromEntries(Object.entries(idleUsage.processes).map(([k, u]) => [k, Math.round(u.cpuPct * 10)]));
  if (pgIdlePid && pgIdle0 !== undefined) idleCpu.postgres = Math.round((((treeCpuSeconds(pgIdlePid) ?? pgIdle0) - pgIdle0) * 1000) / idleUsage.seconds);

  const raws: RawPhase[] = [await phase('happy path', runtime, o.rate, o.durationS)];
  if (o.retryEvents > 0) {
    await sleep(1000);
    raws.push(await phase('one retry', flaky, o.retryRate, o.retryEvents / o.retryRate));
  }
  if (o.limitedEvents > 0) {
    await sleep(1000);
    raws.push(await phase('rate-limited destination', limited, o.retryRate, o.limitedEvents / o.retryRate));
  }

  log('fetching the history of every workflow the phases ran');
  const all = await executions(svc, temporal.namespace);
  const histories: { type: string; history: History }[] = [];
  for (let i = 0; i < all.length; i += 16) {
    const batch = all.slice(i, i + 16);
    histories.push(...(await Promise.all(batch.map(async (e) => ({ type: e.type, history: await rawHistory(svc, temporal.namespace, e.workflowId, e.runId) })))));
  }
  await connection.close();
  removeClient();
  const appPid = pids.app!;
  await runtime.stop();
  removeRuntime();

  const phases = raws.map((r) => toPhase(r, histories, r.accepted.length));
  const profileDir = o.nodeArgs.find((a) => a.startsWith('--cpu-prof-dir='))?.slice('--cpu-prof-dir='.length);
  let profile_md: string | undefined;
  if (profileDir && o.nodeArgs.includes('--cpu-prof')) {
    const files = readdirSync(profileDir).filter((f) => f.includes(`.${appPid}.`) && f.endsWith('.cpuprofile')).map((f) => join(profileDir, f));
    const happy = phases[0]!;
    if (files.length > 0) profile_md = profileMarkdown(summarizeProfiles(files, { fromUs: happy.monotonic_us[0], toUs: happy.monotonic_us[1] }), { per: happy.deliveries, top: 15 });
  }
  const run: CostRun = {
    label: o.label,
    generated_at: new Date().toISOString(),
    commit: process.env.BENCH_APP_COMMIT ?? gitCommit(o.appRoot),
    app_root: o.appRoot === repoRoot ? '.' : o.appRoot,
    database: o.database,
    machine: machine(ctx.temporalCli),
    options: {
      entry: productEntry(o.appRoot).script,
      rate: o.rate,
      duration_s: o.durationS,
      retry_events: o.retryEvents,
      retry_rate: o.retryRate,
      retry_schedule_s: '0,1',
      ...(o.limitedEvents ? { limited_events: o.limitedEvents } : {}),
      log_level: o.logLevel,
      temporal_db: o.temporalAddress ? `external ${o.temporalAddress}` : o.temporalDb,
      ...(o.nodeArgs.length ? { node_args: o.nodeArgs.join(' ') } : {}),
    },
    loadavg_start: loadStart,
    loadavg_end: loadavg(),
    startup_s: runtime.startupS,
    idle_cpu_ms_per_s: idleCpu,
    phases,
    profile_md,
  };
  writeResults(o.out, run);
  log(`results in ${o.out}/cost.{json,md}`);
  process.stdout.write(costMarkdown(readRuns(o.out)));
}

function toPhase(r: RawPhase, histories: { type: string; history: History }[], accepted: number): PhaseResult {
  const [from, to] = r.wallMs;
  const delivery = emptyCounts();
  const helperSums = new Map<string, { executions: number; counts: HistoryCounts }>();
  let deliveries = 0;
  for (const { type, history } of histories) {
    const events = history.events ?? [];
    if (type === DELIVERY_TYPE) {
      const started = events[0] ? eventTimeMs(events[0]) : Number.NaN;
      if (started >= from && started < to) {
        deliveries++;
        addCounts(delivery, countHistory(history));
      }
      continue;
    }
    const inWindow = eventsBetween(history, from, to);
    if ((inWindow.events ?? []).length === 0) continue;
    const h = helperSums.get(type) ?? { executions: 0, counts: emptyCounts() };
    h.executions++;
    addCounts(h.counts, countHistory(inWindow));
    helperSums.set(type, h);
  }
  const n = deliveries || accepted;
  const seconds = r.usage.seconds;
  const cpu: Record<string, number> = {};
  for (const [k, u] of Object.entries(r.usage.processes)) cpu[k] = Math.round(((u.cpuPct / 100) * seconds * 1000 * 10) / n) / 10;
  if (r.postgresMs !== undefined) cpu.postgres = Math.round((r.postgresMs * 10) / n) / 10;
  const helpers = Object.fromEntries([...helperSums].map(([type, h]) => [type, { executions: h.executions, counts: perUnit(h.counts, n) }]));
  const perDelivery = perUnit(delivery, n);
  const helperActions = Object.values(helpers).reduce((a, h) => a + totalActions(h.counts), 0);
  return {
    phase: r.phase,
    rate: r.rate,
    sent: r.sent,
    accepted,
    deliveries,
    undelivered: r.undelivered,
    window_s: r.usage.seconds,
    latency_ms: summarize(r.latencies),
    cpu_ms_per_delivery: cpu,
    app_threads_ms_per_delivery: Object.fromEntries(Object.entries(r.threadsMs).filter(([, v]) => v > 0).map(([k, v]) => [k, Math.round((v * 10) / n) / 10])),
    delivery: perDelivery,
    helpers,
    actions_per_delivery: Math.round((totalActions(perDelivery) + helperActions) * 100) / 100,
    usage: r.usage,
    monotonic_us: r.monotonicUs,
  };
}

export function readRuns(out: string): CostRun[] {
  try {
    return (JSON.parse(readFileSync(join(out, 'cost.json'), 'utf8')) as { runs: CostRun[] }).runs;
  } catch {
    return [];
  }
}

/** Adds the run to cost.json (replacing an earlier run of the same label) and rewrites cost.md. */
function writeResults(out: string, run: CostRun): void {
  mkdirSync(out, { recursive: true });
  const runs = [...readRuns(out).filter((r) => r.label !== run.label), run];
  writeFileSync(join(out, 'cost.json'), `${JSON.stringify({ runs }, null, 2)}\n`);
  writeFileSync(join(out, 'cost.md'), costMarkdown(runs));
}

const f = (v: number | undefined, d = 1): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));

export function costMarkdown(runs: CostRun[]): string {
  const L: string[] = [];
  L.push('# What one delivery costs', '');
  L.push('Generated by `npm run bench -- --cost` (bench/cost.ts); every figure is counted — CPU from `/proc` over the phase,');
  L.push('Temporal work from the real event history of every workflow the phase ran — and divided by the deliveries of the phase.', '');
  L.push('| run | phase | deliveries | our process CPU ms | Temporal server CPU ms | PostgreSQL CPU ms | history events | workflow tasks | activity tasks (attempts) | local-activity markers | patch markers | SA upserts (of them TemporalChangeVersion, not billed) | timers | signals / updates | billable actions | helper workflows | latency p50 / p99 ms |');
  L.push('|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---|---:|---|---|');
  for (const r of runs) {
    for (const p of r.phases) {
      const d = p.delivery;
      const helpers = Object.entries(p.helpers);
      const helperCell = helpers.length === 0 ? 'none' : helpers.map(([t, h]) => `${t}: ${h.executions} runs, ${f(h.counts.events, 2)} events, ${f(totalActions(h.counts), 2)} actions`).join('; ');
      L.push(
        `| ${r.label} | ${p.phase} | ${p.deliveries}${p.undelivered ? ` (${p.undelivered} undelivered)` : ''} | ${f(p.cpu_ms_per_delivery.app)} | ${f(p.cpu_ms_per_delivery.temporal)} | ${f(p.cpu_ms_per_delivery.postgres)} | ${f(d.events, 2)} | ${f(d.workflowTasks, 2)} | ${f(d.activityTasks, 2)} (${f(d.activityAttempts, 2)}) | ${f(d.localActivityMarkers, 2)} | ${f(d.patchMarkers, 2)} | ${f(d.searchAttributeUpserts, 2)} (${f(d.changeVersionUpserts, 2)}) | ${f(d.timers, 2)} | ${f(d.signalsReceived, 2)} / ${f(d.updates, 2)} | **${f(p.actions_per_delivery, 2)}** | ${helperCell} | ${f(p.latency_ms.p50)} / ${f(p.latency_ms.p99)} |`,
      );
    }
  }
  L.push('', "Issue #12's targets for a happy-path delivery: our process ≤ 8 ms CPU, ≤ 3 billable actions, ≤ 12 history events.", '');
  L.push('| run | our process CPU ms ≤ 8 | billable actions ≤ 3 | history events ≤ 12 |', '|---|---|---|---|');
  const mark = (v: number, max: number, d: number) => `${f(v, d)} ${v <= max ? '✓' : '✗'}`;
  for (const r of runs) {
    const h = r.phases.find((p) => p.phase === 'happy path');
    if (h) L.push(`| ${r.label} | ${mark(h.cpu_ms_per_delivery.app ?? Number.NaN, 8, 1)} | ${mark(h.actions_per_delivery, 3, 2)} | ${mark(h.delivery.events, 12, 2)} |`);
  }
  L.push('', 'What one retry adds to a delivery (one retry − happy path, per delivery):', '');
  L.push('| run | our process CPU ms | Temporal server CPU ms | history events | workflow tasks | billable actions |', '|---|---:|---:|---:|---:|---:|');
  for (const r of runs) {
    const h = r.phases.find((p) => p.phase === 'happy path');
    const x = r.phases.find((p) => p.phase === 'one retry');
    if (!h || !x) continue;
    const dd = (a: number | undefined, b: number | undefined, d: number) => f((a ?? Number.NaN) - (b ?? Number.NaN), d);
    L.push(`| ${r.label} | ${dd(x.cpu_ms_per_delivery.app, h.cpu_ms_per_delivery.app, 1)} | ${dd(x.cpu_ms_per_delivery.temporal, h.cpu_ms_per_delivery.temporal, 1)} | ${dd(x.delivery.events, h.delivery.events, 2)} | ${dd(x.delivery.workflowTasks, h.delivery.workflowTasks, 2)} | ${dd(x.actions_per_delivery, h.actions_per_delivery, 2)} |`);
  }
  L.push('', '## Billable actions per delivery, by rule', '');
  const rules = Object.keys(emptyCounts().actions);
  L.push(`| run | phase | ${rules.join(' | ')} | total |`, `|---|---|${rules.map(() => '---:').join('|')}|---:|`);
  for (const r of runs) for (const p of r.phases) L.push(`| ${r.label} | ${p.phase} | ${rules.map((k) => f(p.delivery.actions[k as keyof HistoryCounts['actions']], 2)).join(' | ')} | ${f(totalActions(p.delivery), 2)} |`);
  L.push('', 'Helper workflows (rate limiter, call sequencer, anything else with events in the phase) add their own actions to the total above; the table counts the delivery workflows\' histories only.');
  L.push('', '## Our process by thread (/proc/<pid>/task), CPU ms per delivery', '');
  L.push('Node 20 names every JS thread `node` (main, workflow thread, loader threads), and so are V8 helper, libuv and isolated-vm threads; `tokio-runtime-w` is the Temporal core SDK (Rust).', '');
  L.push('| run | phase | threads | idle CPU ms/s (before the phases) | history bytes per delivery |', '|---|---|---|---|---:|');
  for (const r of runs) for (const p of r.phases) L.push(`| ${r.label} | ${p.phase} | ${Object.entries(p.app_threads_ms_per_delivery).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${f(v)}`).join(', ')} | ${Object.entries(r.idle_cpu_ms_per_s).map(([k, v]) => `${k} ${v}`).join(', ')} | ${f(p.delivery.historyBytes, 0)} |`);
  L.push('', '## Runs', '');
  for (const r of runs) {
    L.push(`- **${r.label}**: commit \`${r.commit}\` (${r.app_root === '.' ? 'this checkout' : r.app_root}), ${r.database}, generated ${r.generated_at.slice(0, 16).replace('T', ' ')} UTC, load average (1 min) ${f(r.loadavg_start[0], 2)} → ${f(r.loadavg_end[0], 2)}, start-up ${r.startup_s} s; machine ${Object.entries(r.machine).map(([k, v]) => `${k} ${v}`).join(' · ')}; ${Object.entries(r.options).map(([k, v]) => `${k}=${String(v)}`).join(' · ')}; phases ${r.phases.map((p) => `${p.phase} ${p.sent} sent at ${p.rate}/s, window ${p.window_s} s, machine CPU (everyone's) ${f(p.usage.machineCpuPct, 0)} %`).join('; ')}.`);
  }
  L.push('', '## How each figure is counted', '');
  L.push(
    '- **CPU ms**: utime + stime from `/proc/<pid>/stat` over the phase (first send → every delivery answered 200 and its workflow closed), ÷ the delivery workflows the phase started. PostgreSQL: the postmaster and every backend (`/proc` tree, reaped children included). The idle column shows what each process burns with nothing to do: every window carries it.',
    '- **History**: `GetWorkflowExecutionHistory` of every run the namespace holds, never decoded. A delivery belongs to the phase its start event falls in; helper workflows count only their events inside the phase window.',
    '- **Workflow tasks**: WorkflowTaskScheduled events (a failed or timed-out task is followed by another). **Activity tasks**: ActivityTaskScheduled (attempts: ActivityTaskStarted.attempt). **Local-activity markers**: MarkerRecorded `core_local_activity`; **patch markers**: `core_patch`.',
    '- **Billable actions** (docs.temporal.io/cloud/actions): workflow started 1 (a child\'s start is its parent\'s 2; Signal-With-Start 1 in all); each activity scheduled 1 and each activity retry 1; **all markers recorded by one workflow task are ONE action** (the local activities of a task, and its patch markers with them — Temporal\'s own action metric, `command_BatchMarkers`, groups every RecordMarker of a task, so a task whose only marker is a patch is an action too; shown apart as "marker batch of patches only"), plus local-activity retries (`meteringMetadata.nonfirstLocalActivityExecutionAttempts`); each timer 1; each search-attribute upsert command 1 (not one setting only TemporalChangeVersion); each signal received 1; each update accepted 1.',
    '- **Not countable from a history**, so not in the totals: queries (the console\'s and the UI\'s stack-trace view are billed), activity heartbeats, rejected updates, workflow-task heartbeats, exports. The bench sends none of these; `GET /v1/deliveries/:id` may query a running delivery.',
  );
  for (const r of runs.filter((x) => x.profile_md)) {
    L.push('', `## Profile of our process, happy path (${r.label})`, '', `\`BENCH_NODE_ARGS="${String(r.options.node_args)}"\`, summarised by bench/lib/profile-summary.ts over the happy-path window only (V8 samples the wall time of a busy thread: a thread blocked in a native call counts as busy; a profiled run's CPU above includes the profiler's own thread, \`v8:ProfEvntProc\`).`, '');
    L.push(r.profile_md!.replace(/^### /gm, '#### '));
  }
  return `${L.join('\n')}\n`;
}
