// Which single-node topology to pick, and what one more core buys: the propagation bench (one
// product process, SQLite control plane) against the Temporal dev server and against Temporal as a
// real server on PostgreSQL (bench/temporal-postgres.ts), on both cores and pinned to one.
//   node --no-node-snapshot --import tsx bench/topology.ts            (≈ 12 min)
//   TOPOLOGY_RUNS=pg:2:20 TOPOLOGY_DURATION_S=10 ...                  (one short run while developing)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ticksPerSecond, parseCpuSeconds, loadavg } from './lib/proc.ts';
import { repoRoot } from './lib/processes.ts';
import { startTemporalOnPostgres, TEMPORAL_SERVER_VERSION, type TemporalOnPostgres } from './temporal-postgres.ts';

type Temporal = 'dev' | 'pg';
interface Run {
  temporal: Temporal;
  cores: 1 | 2;
  rate: number;
}

const env = process.env;
const durationS = Number(env.TOPOLOGY_DURATION_S ?? 30);
const warmupS = 5;
const runs: Run[] = (env.TOPOLOGY_RUNS ?? 'dev:2:20,dev:2:50,dev:1:50,pg:2:20,pg:2:50,pg:1:50').split(',').map((s) => {
  const [temporal, cores, rate] = s.split(':');
  if ((temporal !== 'dev' && temporal !== 'pg') || (cores !== '1' && cores !== '2') || !Number(rate)) throw new Error(`TOPOLOGY_RUNS: temporal:cores:rate, e.g. pg:2:50; got '${s}'`);
  return { temporal, cores: Number(cores) as 1 | 2, rate: Number(rate) };
});
const ticks = ticksPerSecond();

/** The pids of a process and all its descendants alive now, with their CPU seconds. */
function tree(root: number): Map<number, number> {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    const pid = Number(d);
    if (!pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      cpu.set(pid, parseCpuSeconds(stat, ticks));
    } catch {
      // exited meanwhile
    }
  }
  const mine = new Map<number, number>();
  for (const [pid, s] of cpu) {
    for (let p: number | undefined = pid; p; p = parent.get(p)) {
      if (p === root) {
        mine.set(pid, s);
        break;
      }
    }
  }
  return mine;
}

// PostgreSQL's backends are children of the postmaster; a backend that exited takes its CPU along,
// but the server's pooled connections live for the whole run.
const treeCpuSeconds = (root: number) => [...tree(root).values()].reduce((a, b) => a + b, 0);
const pinTree = (root: number, cpus: string) => {
  for (const pid of tree(root).keys()) spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
};

interface Row extends Run {
  accepted: number;
  received: number;
  lost: number;
  p50: number;
  p99: number;
  drainS: number;
  sustained: number;
  appCpuMs: number;
  temporalCpuMs: number;
  postgresCpuMs: number | null;
}

async function benchOnce(run: Run, cluster: TemporalOnPostgres | undefined): Promise<Row> {
  const out = mkdtempSync(join(tmpdir(), 'voiceoi-topology-'));
  const cpus = run.cores === 1 ? '0' : '0,1';
  if (cluster) {
    pinTree(cluster.pids().temporal, cpus);
    if (cluster.pids().postgres) pinTree(cluster.pids().postgres!, cpus);
  }
  const clusterCpu = () => (cluster ? { t: treeCpuSeconds(cluster.pids().temporal), p: treeCpuSeconds(cluster.pids().postgres ?? -1) } : { t: 0, p: 0 });
  // Idle cost of the cluster (its own timers and pollers), subtracted from the run's.
  const idle0 = clusterCpu();
  await sleep(5000);
  const idle1 = clusterCpu();
  const idlePerS = { t: (idle1.t - idle0.t) / 5, p: (idle1.p - idle0.p) / 5 };
  const before = clusterCpu();
  const t0 = Date.now();
  const child = spawn('taskset', ['-c', cpus, process.execPath, '--no-node-snapshot', '--import', 'tsx', 'bench/propagation.ts'], {
    cwd: repoRoot,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...env,
      BENCH_RATES: String(run.rate),
      BENCH_TARGET_RATES: String(run.rate),
      BENCH_DURATION_S: String(durationS),
      BENCH_WARMUP_S: String(warmupS),
      BENCH_MAX_DRAIN_S: '120',
      BENCH_SKIP_FLOOR: '1',
      BENCH_OUT: out,
      ...(cluster ? { BENCH_TEMPORAL_ADDRESS: cluster.address } : {}),
    },
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`bench/propagation.ts exited ${code} for ${JSON.stringify(run)}`);
  const wallS = (Date.now() - t0) / 1000;
  const after = clusterCpu();
  const report = JSON.parse(readFileSync(join(out, 'propagation.json'), 'utf8'));
  const r = report.runtime[0];
  // Deliveries the cluster served in the window: the measured ones and the warm-up's.
  const deliveries = r.received + run.rate * warmupS;
  const usage = r.usage;
  const appCpuS = (usage.processes.app.cpuPct / 100) * usage.seconds;
  const devTemporalS = usage.processes.temporal ? (usage.processes.temporal.cpuPct / 100) * usage.seconds : 0;
  return {
    ...run,
    accepted: r.accepted,
    received: r.received,
    lost: r.lost,
    p50: r.propagation_ms.p50,
    p99: r.propagation_ms.p99,
    drainS: r.drain_s,
    sustained: r.delivered_per_s,
    appCpuMs: Math.round((appCpuS * 1000) / r.received),
    temporalCpuMs: cluster ? Math.round(((after.t - before.t - idlePerS.t * wallS) * 1000) / deliveries) : Math.round((devTemporalS * 1000) / r.received),
    postgresCpuMs: cluster ? Math.round(((after.p - before.p - idlePerS.p * wallS) * 1000) / deliveries) : null,
  };
}

const rows: Row[] = [];
const load0 = loadavg();
for (const temporal of ['dev', 'pg'] as const) {
  const mine = runs.filter((r) => r.temporal === temporal);
  if (mine.length === 0) continue;
  const cluster = temporal === 'pg' ? await startTemporalOnPostgres() : undefined;
  try {
    for (const run of mine) {
      process.stderr.write(`\n== topology ${run.temporal} · ${run.cores} core(s) · ${run.rate}/s\n`);
      rows.push(await benchOnce(run, cluster));
    }
  } finally {
    await cluster?.stop();
  }
}

const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).stdout.trim();
const dirty = spawnSync('git', ['status', '--porcelain'], { cwd: repoRoot, encoding: 'utf8' }).stdout.trim() ? '+uncommitted' : '';
const name = (t: Temporal) => (t === 'dev' ? 'dev server (SQLite file)' : `server ${TEMPORAL_SERVER_VERSION} on PostgreSQL`);
const cell = (v: number | null) => (v === null ? '–' : String(v));
const md = `# Single-node topology: Temporal dev server or Temporal server on PostgreSQL

Generated ${new Date().toISOString()} by \`node --no-node-snapshot --import tsx bench/topology.ts\` at commit \`${commit}${dirty}\`.
Each row is \`npm run bench\` at one rate for ${durationS} s (after ${warmupS} s warm-up; drain capped at 120 s), one product process (API + worker, SQLite control plane), every process of the row pinned with \`taskset\` to the cores given. Load average ${load0.join(' ')} at the start, ${loadavg().join(' ')} at the end.
CPU ms per delivery: the product process from the bench's own accounting; the dev server likewise; the real server and PostgreSQL (postmaster and every backend) from /proc over the run, minus their idle rate measured for 5 s before it, divided by the deliveries of the run and its warm-up.

| Temporal | cores | rate /s | accepted | lost | p50 ms | p99 ms | drain s | sustained /s | app CPU ms | Temporal CPU ms | PostgreSQL CPU ms |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.map((r) => `| ${name(r.temporal)} | ${r.cores} | ${r.rate} | ${r.accepted} | ${r.lost} | ${r.p50} | ${r.p99} | ${r.drainS} | ${r.sustained} | ${r.appCpuMs} | ${r.temporalCpuMs} | ${cell(r.postgresCpuMs)} |`).join('\n')}
`;
const file = join(repoRoot, 'bench/results', env.TOPOLOGY_RUNS ? 'topology-partial.md' : 'topology.md');
writeFileSync(file, md);
writeFileSync(file.replace(/\.md$/, '.json'), JSON.stringify({ commit: commit + dirty, durationS, rows }, null, 2));
process.stdout.write(md);
