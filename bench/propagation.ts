// `npm run bench`: hook propagation latency and throughput of the real runtime against a plain
// forwarder (the floor), at fixed open-loop rates. `npm run bench -- --tuning` measures the tuning
// variants (bench/tuning-variants.ts) one at a time; `npm run bench -- --cost` counts what one delivery
// costs (bench/cost.ts); `npm run bench -- --fairness` one account's hanging receiver or burst beside
// another (bench/fairness.ts). Loopback only; every process it starts is
// stopped on the way out, including on Ctrl-C and on errors. See bench/README.md.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureTemporalCli } from '../src/temporal/cli.ts';
import { attemptsAsLocalActivitiesModule, buildBundle, transformAsActivityModule } from './lib/bundle.ts';
import { costBench, costOptions } from './cost.ts';
import { temporalFloorBench } from './temporal-floor.ts';
import { fairnessBench } from './fairness.ts';
import { measureRate, type RateResult } from './lib/measure.ts';
import { cleanupAll, installExitHandlers, onCleanup, repoRoot } from './lib/processes.ts';
import { loadavg, memory } from './lib/proc.ts';
import { startTimingReceiver, type TimingReceiver } from './lib/receiver.ts';
import { headlineRate, mainMarkdown, tuningMarkdown, type MainReport, type TuningReport, type VariantResult } from './lib/report.ts';
import { machine, gitCommit } from './lib/run-info.ts';
import { startFloor, startRuntime, type Target, type Topology } from './lib/stack.ts';
import { lineChartSvg } from './lib/svg.ts';
import { variants, type BundleKind } from './tuning-variants.ts';

const P99_TARGET_MS = 200;

/** The stack fell behind the offered rate: a backlog took long to drain, or p99 went to seconds. */
const isSaturated = (r: RateResult): boolean => r.drain_s > 30 || r.propagation_ms.p99 > 10_000 || r.lost > 0;

function arg(name: string): string | undefined {
  const argv = process.argv.slice(2);
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = argv[i]!;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : (argv[i + 1] ?? '');
}
const flag = (name: string): boolean => process.argv.slice(2).includes(`--${name}`);

function numberList(text: string, what: string): number[] {
  const list = text.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((x) => !Number.isFinite(x) || x <= 0 || x > 5000)) throw new Error(`${what}: expected numbers in 1..5000 separated by commas, got '${text}'`);
  return list;
}
function positive(text: string, what: string, max: number): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v <= 0 || v > max) throw new Error(`${what}: expected a number in (0, ${max}], got '${text}'`);
  return v;
}

const env = process.env;
const tuning = flag('tuning');
const opts = {
  durationS: positive(arg('duration') ?? env.BENCH_DURATION_S ?? (tuning ? '20' : '60'), 'BENCH_DURATION_S', 3600),
  // Tuning compares variants below saturation, where latency and CPU per delivery mean something.
  rates: numberList(arg('rates') ?? env.BENCH_RATES ?? (tuning ? '5,10' : '20,30,40,50,100,200,500'), 'BENCH_RATES'),
  // Once the runtime is saturated at one rate, higher rates only pile up a backlog: skipped unless set.
  runAll: flag('all-rates') || env.BENCH_ALL_RATES === '1',
  // The target rate is measured even past saturation: the table must show what happens there.
  targetRates: numberList(env.BENCH_TARGET_RATES ?? '100', 'BENCH_TARGET_RATES'),
  topology: (arg('topology') ?? env.BENCH_TOPOLOGY ?? 'single') as Topology,
  floor: !(flag('no-floor') || env.BENCH_SKIP_FLOOR === '1'),
  logLevel: env.BENCH_LOG_LEVEL ?? 'info',
  warmupS: positive(env.BENCH_WARMUP_S ?? '5', 'BENCH_WARMUP_S', 600),
  stallS: positive(env.BENCH_STALL_S ?? '35', 'BENCH_STALL_S', 3600),
  maxDrainS: positive(env.BENCH_MAX_DRAIN_S ?? '900', 'BENCH_MAX_DRAIN_S', 7200),
  out: resolve(arg('out') ?? env.BENCH_OUT ?? join(repoRoot, 'bench/results')),
  keepData: env.BENCH_KEEP_DATA === '1',
  // More `temporal server start-dev` flags for an experiment, space-separated.
  devServerArgs: (env.BENCH_DEV_SERVER_ARGS ?? '').split(' ').filter(Boolean),
  // More node flags for the product's processes, space-separated (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof).
  nodeArgs: (env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
  temporalDb: (env.BENCH_TEMPORAL_DB === 'memory' ? 'memory' : 'file') as 'file' | 'memory',
  // An existing Temporal cluster (Temporal on its own cores or hosts) instead of a local dev server.
  temporalAddress: env.BENCH_TEMPORAL_ADDRESS || undefined,
  variants: (arg('variants') ?? env.BENCH_VARIANTS)?.split(',').map((s) => s.trim()).filter(Boolean),
};
if (opts.topology !== 'single' && opts.topology !== 'split') throw new Error(`BENCH_TOPOLOGY: 'single' or 'split', got '${opts.topology}'`);

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

let runSeq = 0;
async function run(target: Target, receiver: TimingReceiver, rate: number, durationS: number): Promise<RateResult> {
  const res = await measureRate(target, receiver, {
    rate,
    durationS,
    stallS: opts.stallS,
    maxDrainS: opts.maxDrainS,
    idPrefix: `bench-${process.pid}-${target.name}-${rate}-${runSeq++}`,
    extraPids: { bench: process.pid },
  });
  const p = res.propagation_ms;
  log(
    `${target.name} @ ${rate}/s: p50 ${p.p50} p90 ${p.p90} p99 ${p.p99} max ${p.max} ms; ingest p50 ${res.ingest_ms.p50} p99 ${res.ingest_ms.p99} ms; ` +
      `accepted ${res.accepted}/${res.sent}, lost ${res.lost}, dup ${res.duplicates}; load ${res.usage.loadavgEnd[0]}`,
  );
  return res;
}

/** Unmeasured traffic first: JIT, connection pools and the dev server's caches warm up. */
async function warmUp(target: Target, receiver: TimingReceiver): Promise<void> {
  await measureRate(target, receiver, { rate: 20, durationS: opts.warmupS, stallS: 20, maxDrainS: 60, idPrefix: `warmup-${process.pid}-${target.name}-${runSeq++}` });
}

async function mainRun(dir: string, receiver: TimingReceiver, temporalCli: string): Promise<void> {
  const loadStart = loadavg();
  log(`starting the runtime (${opts.topology === 'single' ? 'one process: API + worker, as npm start' : 'split: API and worker processes'}) and its dev server`);
  const runtime = await startRuntime({ dir: join(dir, 'runtime'), topology: opts.topology, env: {}, devServerArgs: opts.devServerArgs, receiverUrl: receiver.url, logLevel: opts.logLevel, nodeArgs: opts.nodeArgs, temporalDb: opts.temporalDb, temporalAddress: opts.temporalAddress });
  onCleanup('runtime', () => runtime.stop());
  log(`runtime up in ${runtime.startupS} s at ${runtime.url}`);
  const floor = opts.floor ? await startFloor({ dir: join(dir, 'floor'), receiverUrl: receiver.url }) : undefined;
  if (floor) onCleanup('floor', () => floor.stop());
  await warmUp(runtime, receiver);
  if (floor) await warmUp(floor, receiver);

  const rt: RateResult[] = [];
  const fl: RateResult[] = [];
  const skipped: number[] = [];
  // Interleaved per rate, so that a change of load from the neighbours hits both stacks alike; the
  // floor first, so that it never runs beside the runtime's backlog.
  for (const rate of opts.rates) {
    if (floor) {
      fl.push(await run(floor, receiver, rate, opts.durationS));
      await sleep(1000);
    }
    const saturated = rt.find((r) => isSaturated(r));
    if (saturated && !opts.runAll && !opts.targetRates.includes(rate)) {
      skipped.push(rate);
      log(`runtime @ ${rate}/s skipped: saturated at ${saturated.rate}/s (sustained ${saturated.delivered_per_s}/s)`);
      continue;
    }
    rt.push(await run(runtime, receiver, rate, opts.durationS));
    await sleep(1000);
  }
  const report: MainReport = {
    generated_at: new Date().toISOString(),
    git_commit: gitCommit(),
    machine: machine(temporalCli),
    options: {
      topology: opts.topology,
      duration_s: opts.durationS,
      rates: opts.rates,
      log_level: opts.logLevel,
      warmup_s: opts.warmupS,
      temporal_db: opts.temporalAddress ? `external ${opts.temporalAddress}` : opts.temporalDb,
      ...(opts.devServerArgs.length ? { dev_server_args: opts.devServerArgs.join(' ') } : {}),
    },
    loadavg_start: loadStart,
    loadavg_end: loadavg(),
    runtime_startup_s: runtime.startupS,
    runtime: rt,
    runtime_skipped_rates: skipped,
    floor: fl,
    headline: { ...headlineRate(rt, P99_TARGET_MS), p99_target_ms: P99_TARGET_MS },
  };
  mkdirSync(opts.out, { recursive: true });
  writeFileSync(join(opts.out, 'propagation.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(opts.out, 'propagation.md'), mainMarkdown(report));
  writeFileSync(join(opts.out, 'propagation.svg'), plot(report));
  log(`results in ${opts.out}/propagation.{json,md,svg}`);
  process.stdout.write(mainMarkdown(report));
}

function plot(r: MainReport): string {
  const pts = (rs: RateResult[], k: 'p50' | 'p99') => rs.map((x) => ({ x: x.rate, y: x.propagation_ms[k] }));
  return lineChartSvg({
    title: 'VoiceOI Hooks: hook propagation latency vs event rate',
    subtitle: `ingest request start → receiver first byte · ${r.machine.cores} cores, shared · ${r.options.duration_s as number} s per rate, open loop · ${r.generated_at.slice(0, 10)}`,
    xLabel: 'call_completed events per second (log scale)',
    yLabel: 'propagation latency, ms (log scale)',
    series: [
      { name: 'runtime p99', color: '#d9480f', points: pts(r.runtime, 'p99') },
      { name: 'runtime p50', color: '#1c7ed6', points: pts(r.runtime, 'p50') },
      { name: 'floor p99', color: '#d9480f', dashed: true, points: pts(r.floor, 'p99') },
      { name: 'floor p50', color: '#1c7ed6', dashed: true, points: pts(r.floor, 'p50') },
    ],
    thresholds: [
      { y: 200, label: '200 ms (promise: sub-200 ms)', color: '#c92a2a' },
      { y: 100, label: '100 ms (target at 100/s)', color: '#868e96' },
    ],
  });
}

async function tuningRun(dir: string, receiver: TimingReceiver, temporalCli: string): Promise<void> {
  const chosen = opts.variants ? variants.filter((v) => opts.variants!.includes(v.name)) : variants;
  if (chosen.length === 0) throw new Error(`no variant named ${opts.variants!.join(', ')}; known: ${variants.map((v) => v.name).join(', ')}`);
  log('building the prebuilt workflow bundles');
  const bundles: Record<BundleKind, string | undefined> = {
    'transform-as-activity': await buildBundle(join(dir, 'bundle-transform-as-activity.js'), [transformAsActivityModule]),
    default: await buildBundle(join(dir, 'bundle-default.js')),
    'attempts-local': await buildBundle(join(dir, 'bundle-attempts-local.js'), [attemptsAsLocalActivitiesModule]),
    'at-start': undefined,
  };
  const results: VariantResult[] = [];
  for (const v of chosen) {
    log(`variant ${v.name}: ${v.change}`);
    const bundle = bundles[v.bundle];
    const runtime = await startRuntime({
      dir: join(dir, v.name),
      topology: opts.topology,
      env: { ...v.env, ...(bundle ? { VOICEOI_WORKFLOW_BUNDLE: bundle } : {}) },
      devServerArgs: v.devServerArgs,
      receiverUrl: receiver.url,
      logLevel: v.env.LOG_LEVEL ?? opts.logLevel,
      nodeArgs: opts.nodeArgs,
      temporalDb: opts.temporalDb,
      temporalAddress: opts.temporalAddress,
    });
    const remove = onCleanup(`runtime ${v.name}`, () => runtime.stop());
    const startupRss = Object.fromEntries(Object.entries(runtime.pids).map(([k, pid]) => [k, Math.round(memory(pid)?.rssMiB ?? Number.NaN)]));
    try {
      await warmUp(runtime, receiver);
      const rates: RateResult[] = [];
      for (const rate of opts.rates) rates.push(await run(runtime, receiver, rate, opts.durationS));
      results.push({ name: v.name, change: v.change, kept: v.kept, startup_s: runtime.startupS, startup_rss_mib: startupRss, rates });
    } finally {
      await runtime.stop();
      remove();
      rmSync(join(dir, v.name), { recursive: true, force: true });
    }
  }
  const report: TuningReport = {
    generated_at: new Date().toISOString(),
    git_commit: gitCommit(),
    machine: machine(temporalCli),
    options: { topology: opts.topology, duration_s: opts.durationS, rates: opts.rates, log_level: opts.logLevel },
    variants: results,
  };
  mkdirSync(opts.out, { recursive: true });
  const file = opts.variants ? 'tuning-partial' : 'tuning';
  writeFileSync(join(opts.out, `${file}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(opts.out, `${file}.md`), tuningMarkdown(report));
  log(`results in ${opts.out}/${file}.{json,md}`);
  process.stdout.write(tuningMarkdown(report));
}

async function main(): Promise<void> {
  installExitHandlers();
  if (flag('fairness')) return fairnessBench();
  if (flag('temporal-floor')) {
    const rates = (arg('rates') ?? env.BENCH_FLOOR_RATES ?? '50,100').split(',').map(Number);
    await temporalFloorBench({ rates, durationS: Number(arg('duration') ?? env.BENCH_FLOOR_DURATION_S ?? 20), out: opts.out, devServerArgs: opts.devServerArgs, log });
    return;
  }
  const temporalCli = await ensureTemporalCli(log);
  const dir = mkdtempSync(join(tmpdir(), 'voiceoi-bench-'));
  if (!opts.keepData) onCleanup('temp data dir', () => rmSync(dir, { recursive: true, force: true }));
  else log(`keeping the data and logs in ${dir}`);
  if (flag('cost')) return costBench(costOptions(env, opts), { dir, temporalCli, log });
  const receiver = await startTimingReceiver();
  onCleanup('receiver', () => receiver.close());
  log(`receiver ${receiver.url}; data ${dir}; ${opts.durationS} s per rate at ${opts.rates.join(', ')} /s; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  if (tuning) await tuningRun(dir, receiver, temporalCli);
  else await mainRun(dir, receiver, temporalCli);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`[bench] failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanupAll();
}
process.exit(process.exitCode ?? 0);
