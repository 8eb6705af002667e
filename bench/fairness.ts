// `npm run bench -- --fairness` (or `npm run bench:fairness`): what one account's trouble costs another
// on one `npm start` (issue 19). Two scenarios, each on a fresh stack:
//   hanging  A's receiver answers after 12 s (inside its 15 s timeout) while A sends 40 events/s for 15 s;
//            B sends 10/s to a fast receiver. B alone first (the baseline), then B beside A; B's events
//            not arrived 60 s after the load ended are lost. Also: how many of A's reached its receiver.
//   burst    A posts 3 000 events through POST /v1/events/batch (100 per request, 4 requests in flight,
//            re-sending what is refused after Retry-After) while B sends 10/s; B's latency, A's counts.
// Flags: --scenario=hanging|burst (default both), --short (a few seconds each, for a quick check),
// --app-root=<checkout> (run another checkout's `npm start`, e.g. the base commit, for the "before").
// It sets no field the base code lacks. Results: bench/results/fairness.{md,json}. Loopback only.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureTemporalCli } from '../src/temporal/cli.ts';
import { callCompleted } from '../test/support/events.ts';
import { sendOpenLoop, type Sent } from './lib/load.ts';
import { openWindow } from './lib/proc.ts';
import { cleanupAll, installExitHandlers, onCleanup, repoRoot } from './lib/processes.ts';
import { startTimingReceiver, type TimingReceiver } from './lib/receiver.ts';
import { gitCommit, machine } from './lib/run-info.ts';
import { json, startRuntime, type Target } from './lib/stack.ts';
import { summarize, type Summary } from './lib/stats.ts';

const argv = process.argv.slice(2);
const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const short = argv.includes('--short');
const scenarios = (arg('scenario') ?? 'hanging,burst').split(',');
const appRoot = arg('app-root') ? resolve(arg('app-root')!) : undefined;
const out = resolve(arg('out') ?? join(repoRoot, 'bench/results'));

const HANG_MS = 12_000;
const A_RATE = 40;
const B_RATE = 10;
const LOAD_S = short ? 5 : 15;
const GRACE_S = short ? 30 : 60;
const BURST_EVENTS = short ? 600 : 3000;
const PER_BATCH = 100;
const BATCH_IN_FLIGHT = 4;
const QUOTA_PER_S = process.env.BENCH_INGEST_RATE_PER_S ?? '25';
const QUOTA_BURST = process.env.BENCH_INGEST_BURST ?? '200';

const log = (line: string) => process.stderr.write(`[fairness] ${line}\n`);

interface Latency extends Summary {
  sent: number;
  lost: number;
  /** The ingest request's own answer time (POST /v1/events → 202), p50/p99. */
  ingest_p50: number;
  ingest_p99: number;
}

/** B's latency by the second its events were sent in (p99 of each second): how a backlog builds and drains. */
function bySecond(sent: Map<string, Sent>, receiver: TimingReceiver): number[] {
  const t0 = Math.min(...[...sent.values()].map((s) => s.start));
  const buckets: number[][] = [];
  for (const [id, s] of sent) {
    const at = receiver.firstByte.get(id);
    (buckets[Math.floor((s.start - t0) / 1000)] ??= []).push(at === undefined ? Number.NaN : at - s.start);
  }
  return buckets.map((b) => summarize(b.filter(Number.isFinite)).p99);
}

/** From each send to the first byte at the receiver; missing after the grace period counts as lost. */
function latency(sent: Map<string, Sent>, receiver: TimingReceiver): Latency {
  const ms: number[] = [];
  let lost = 0;
  for (const [id, s] of sent) {
    const at = receiver.firstByte.get(id);
    if (at === undefined) lost++;
    else ms.push(at - s.start);
  }
  const ingest = summarize([...sent.values()].flatMap((s) => s.ingestMs ?? []));
  return { ...summarize(ms), sent: sent.size, lost, ingest_p50: ingest.p50, ingest_p99: ingest.p99 };
}

async function waitArrived(receiver: TimingReceiver, ids: Iterable<string>, timeoutS: number): Promise<void> {
  const want = [...ids];
  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline && want.some((id) => !receiver.firstByte.has(id))) await sleep(250);
}

async function stack(dir: string, fast: TimingReceiver, env: Record<string, string> = {}): Promise<Target> {
  // BENCH_DEV_SERVER_ARGS: more `temporal server start-dev` flags for an experiment, as in propagation.ts.
  const devServerArgs = (process.env.BENCH_DEV_SERVER_ARGS ?? '').split(' ').filter(Boolean);
  // BENCH_NODE_ARGS: node flags for the product process (a CPU profile: --cpu-prof --cpu-prof-dir=…), as in propagation.ts.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return startRuntime({ dir, topology: 'single', env, devServerArgs, nodeArgs, receiverUrl: fast.url, logLevel: 'warn', appRoot });
}

/** A second account with one destination at `url`; its API key. */
async function otherAccount(target: Target, name: string, url: string): Promise<string> {
  const account = await json(`${target.url}/v1/accounts`, { method: 'POST', token: target.adminToken!, body: { name } });
  await json(`${target.url}/v1/destinations`, { method: 'POST', token: account.api_key, body: { url, event_types: ['call_completed'], timeout_ms: 15_000 } });
  return account.api_key as string;
}

async function warm(target: Target, fast: TimingReceiver, tag: string): Promise<void> {
  const sent = await sendOpenLoop({ baseUrl: target.url, token: target.token, rate: 20, durationS: 2, idPrefix: `warm-${tag}` });
  await waitArrived(fast, sent.keys(), 30);
}

async function hanging(dir: string) {
  const fast = await startTimingReceiver();
  const slow = await startTimingReceiver({ answerAfterMs: HANG_MS });
  const target = await stack(join(dir, 'hanging'), fast);
  try {
    const a = await otherAccount(target, 'Hanging BPO', `${slow.url}/crm`);
    await warm(target, fast, 'h');
    log(`B alone: ${B_RATE}/s for ${LOAD_S} s`);
    const alone = await sendOpenLoop({ baseUrl: target.url, token: target.token, rate: B_RATE, durationS: LOAD_S, idPrefix: 'b-alone' });
    await waitArrived(fast, alone.keys(), GRACE_S);
    log(`B beside A: A ${A_RATE}/s to a receiver answering after ${HANG_MS / 1000} s, B ${B_RATE}/s, ${LOAD_S} s`);
    const usage = openWindow(target.pids);
    const [aSent, beside] = await Promise.all([
      sendOpenLoop({ baseUrl: target.url, token: a, rate: A_RATE, durationS: LOAD_S, idPrefix: 'a-hang' }),
      sendOpenLoop({ baseUrl: target.url, token: target.token, rate: B_RATE, durationS: LOAD_S, idPrefix: 'b-beside' }),
    ]);
    const cpu = usage.end();
    const aReachedDuringLoad = [...aSent.keys()].filter((id) => slow.firstByte.has(id)).length;
    log(`waiting up to ${GRACE_S} s for B's events`);
    await waitArrived(fast, beside.keys(), GRACE_S);
    const aReached = [...aSent.keys()].filter((id) => slow.firstByte.has(id)).length;
    return {
      hang_ms: HANG_MS,
      load_s: LOAD_S,
      grace_s: GRACE_S,
      b_alone_ms: latency(alone, fast),
      b_beside_a_ms: latency(beside, fast),
      b_beside_a_p99_by_second_ms: bySecond(beside, fast),
      cpu_during_load: cpu,
      a: { sent: aSent.size, accepted: [...aSent.values()].filter((s) => s.status === 202).length, reached_receiver_during_load: aReachedDuringLoad, reached_receiver_after_grace: aReached },
    };
  } finally {
    await target.stop();
    await fast.close();
    await slow.close();
  }
}

/** A posts `total` events in batches, `BATCH_IN_FLIGHT` requests at a time, re-sending refusals after Retry-After. */
async function burstOf(target: Target, token: string, total: number) {
  const ids = Array.from({ length: total }, (_, i) => `a-burst-${i}`);
  const accepted = new Set<string>();
  let requests = 0;
  let throttled = 0;
  let pendingIds = [...ids];
  const t0 = performance.now();
  while (pendingIds.length > 0) {
    const batches: string[][] = [];
    for (let i = 0; i < pendingIds.length; i += PER_BATCH) batches.push(pendingIds.slice(i, i + PER_BATCH));
    const refused: string[] = [];
    let retryAfterS = 0;
    for (let i = 0; i < batches.length; i += BATCH_IN_FLIGHT) {
      await Promise.all(
        batches.slice(i, i + BATCH_IN_FLIGHT).map(async (batch) => {
          requests++;
          const res = await fetch(`${target.url}/v1/events/batch`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify(batch.map((id) => callCompleted(id))),
          }).catch(() => undefined);
          const after = Number(res?.headers.get('retry-after') ?? 0);
          if (!res || res.status !== 202) {
            if (res?.status === 429) throttled++;
            retryAfterS = Math.max(retryAfterS, Number.isFinite(after) ? after : 1, 1);
            refused.push(...batch);
            await res?.body?.cancel();
            return;
          }
          const body = (await res.json()) as { results: { index: number; code?: string }[] };
          for (const r of body.results) {
            if (r.code) refused.push(batch[r.index]!);
            else accepted.add(batch[r.index]!);
          }
          if (after > 0) retryAfterS = Math.max(retryAfterS, after);
        }),
      );
    }
    pendingIds = refused.filter((id) => !accepted.has(id));
    if (pendingIds.length > 0) await sleep(Math.max(1, retryAfterS) * 1000);
  }
  return { ids, accepted: accepted.size, requests, throttled, took_s: Math.round((performance.now() - t0) / 100) / 10 };
}

async function burst(dir: string) {
  const fast = await startTimingReceiver();
  const aReceiver = await startTimingReceiver();
  // The burst meets the install's last line: the per-account ingest quota an operator sizes to the
  // machine (README, "Isolation between accounts"). This one holds about half of what 2 cores sustain
  // (BENCH_INGEST_RATE_PER_S / BENCH_INGEST_BURST to try others); code without quotas ignores both.
  const target = await stack(join(dir, 'burst'), fast, { VOICEOI_INGEST_RATE_PER_S: QUOTA_PER_S, VOICEOI_INGEST_BURST: QUOTA_BURST });
  try {
    const a = await otherAccount(target, 'Bursting BPO', `${aReceiver.url}/crm`);
    await warm(target, fast, 'b');
    log(`A posts ${BURST_EVENTS} events in batches of ${PER_BATCH} while B sends ${B_RATE}/s`);
    let bDone = false;
    const bSent = new Map<string, Sent>();
    // B sends for as long as A's burst lasts (at least LOAD_S).
    const bLoad = (async () => {
      for (let round = 0; !bDone || round === 0; round++) {
        const part = await sendOpenLoop({ baseUrl: target.url, token: target.token, rate: B_RATE, durationS: LOAD_S, idPrefix: `b-burst-${round}` });
        for (const [k, v] of part) bSent.set(k, v);
      }
    })();
    const aResult = await burstOf(target, a, BURST_EVENTS);
    bDone = true;
    await bLoad;
    await waitArrived(fast, bSent.keys(), GRACE_S);
    log(`waiting up to 180 s for A's ${aResult.accepted} accepted events`);
    await waitArrived(aReceiver, aResult.ids, 180);
    return {
      events: BURST_EVENTS,
      b_ms: latency(bSent, fast),
      a: { accepted: aResult.accepted, delivered: aResult.ids.filter((id) => aReceiver.firstByte.has(id)).length, requests: aResult.requests, throttled_429: aResult.throttled, ingest_took_s: aResult.took_s },
    };
  } finally {
    await target.stop();
    await fast.close();
    await aReceiver.close();
  }
}

const fmt = (l: Latency) => `p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms; lost ${l.lost} of ${l.sent} (ingest answered in p50 ${l.ingest_p50} ms, p99 ${l.ingest_p99} ms)`;

function markdown(r: Record<string, any>): string {
  const lines = [`# Fairness between accounts (issue 19)`, '', `Commit ${r.commit}${r.app_root ? ` (app from ${r.app_root})` : ''}, ${r.at}; ${r.machine.cores} cores, ${r.machine.cpu}; Temporal CLI ${r.machine.temporal}.`, ''];
  lines.push(`Reproduce: \`npm run bench -- --fairness${short ? ' --short' : ''}\` (flags: \`--scenario=hanging|burst\`, \`--short\`, \`--app-root=<checkout>\`).`, '');
  if (r.hanging) {
    const h = r.hanging;
    lines.push(`## Hanging neighbour`, '', `A's receiver answers after ${h.hang_ms / 1000} s; A sends ${A_RATE}/s for ${h.load_s} s; B sends ${B_RATE}/s to a fast receiver. Lost: not at the receiver ${h.grace_s} s after the load.`, '');
    lines.push(`| | B's propagation |`, `|---|---|`, `| B alone | ${fmt(h.b_alone_ms)} |`, `| B beside A | ${fmt(h.b_beside_a_ms)} |`, '');
    lines.push(`A: ${h.a.accepted} of ${h.a.sent} accepted; ${h.a.reached_receiver_during_load} reached A's receiver during the load, ${h.a.reached_receiver_after_grace} by the end.`, '');
    lines.push(`B beside A, p99 by the second its events were sent (ms): ${h.b_beside_a_p99_by_second_ms.join(', ')}.`, '');
    const c = h.cpu_during_load;
    lines.push(`CPU during the load (% of one core): ${Object.entries(c.processes).map(([n, p]: [string, any]) => `${n} ${p.cpuPct}`).join(', ')}; whole machine ${c.machineCpuPct}; load average ${c.loadavgStart.join(' ')} → ${c.loadavgEnd.join(' ')}.`, '');
  }
  if (r.burst) {
    const b = r.burst;
    lines.push(`## Burst neighbour`, '', `A posts ${b.events} events via /v1/events/batch (${PER_BATCH} per request, ${BATCH_IN_FLIGHT} in flight, refusals re-sent after Retry-After) while B sends ${B_RATE}/s. The operator's per-account ingest quota: ${QUOTA_PER_S} events/s, burst ${QUOTA_BURST} (\`VOICEOI_INGEST_RATE_PER_S\`, \`VOICEOI_INGEST_BURST\`).`, '');
    lines.push(`| | |`, `|---|---|`, `| B | ${fmt(b.b_ms)} |`, `| A | ${b.a.accepted} accepted, ${b.a.delivered} delivered; ${b.a.requests} requests (${b.a.throttled_429} answered 429); ingest took ${b.a.ingest_took_s} s |`, '');
  }
  return lines.join('\n');
}

export async function fairnessBench(): Promise<void> {
  const temporalCli = await ensureTemporalCli(log);
  const dir = mkdtempSync(join(tmpdir(), 'voiceoi-fairness-'));
  onCleanup('temp data dir', () => rmSync(dir, { recursive: true, force: true }));
  const report: Record<string, unknown> = { commit: gitCommit(appRoot ?? repoRoot), app_root: appRoot, at: new Date().toISOString(), short, machine: machine(temporalCli) };
  if (scenarios.includes('hanging')) report.hanging = await hanging(dir);
  if (scenarios.includes('burst')) report.burst = await burst(dir);
  mkdirSync(out, { recursive: true });
  const name = `fairness${short ? '-short' : ''}${arg('name') ? `-${arg('name')}` : ''}`;
  writeFileSync(join(out, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(out, `${name}.md`), markdown(report));
  process.stdout.write(markdown(report));
  log(`results in ${out}/${name}.{json,md}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  installExitHandlers();
  try {
    await fairnessBench();
  } catch (err) {
    process.stderr.write(`[fairness] failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  } finally {
    await cleanupAll();
  }
  process.exit(process.exitCode ?? 0);
}
