import { setTimeout as sleep } from 'node:timers/promises';
import { sendOpenLoop } from './load.ts';
import { openWindow, type WindowUsage } from './proc.ts';
import type { TimingReceiver } from './receiver.ts';
import type { Target } from './stack.ts';
import { summarize, type Summary } from './stats.ts';

export interface RateResult {
  target: string;
  rate: number;
  duration_s: number;
  sent: number;
  /** Answered 202: from then on the event must reach the receiver. */
  accepted: number;
  /** Not answered 202 (error status or no answer): the producer knows and would retry. */
  rejected: number;
  rejected_examples: string[];
  received: number;
  /** Accepted but never reached the receiver before the drain gave up. */
  lost: number;
  duplicates: number;
  /** From the start of the ingest request to the receiver's first byte, ms. */
  propagation_ms: Summary;
  ingest_ms: Summary;
  /** How late sends left against the open-loop schedule, ms (large: the load generator fell behind). */
  send_lag_ms: Summary;
  /** Time after the last send until the last accepted event arrived, s. */
  drain_s: number;
  /** Deliveries per second over the send window plus the drain: what the stack sustained. */
  delivered_per_s: number;
  /** CPU time of the stack's own processes (not the load generator) per delivered event, ms. */
  cpu_ms_per_delivery: number;
  usage: WindowUsage;
}

export interface MeasureOptions {
  rate: number;
  durationS: number;
  /** Give up waiting for stragglers after this long without a new arrival. */
  stallS: number;
  /** Hard cap on the wait for stragglers. */
  maxDrainS: number;
  idPrefix: string;
  /** Extra processes to account (the benchmark itself). */
  extraPids?: Record<string, number>;
}

/** One open-loop run at one rate against one target, drained until every accepted event arrived. */
export async function measureRate(target: Target, receiver: TimingReceiver, o: MeasureOptions): Promise<RateResult> {
  const window = openWindow({ ...target.pids, ...o.extraPids });
  const dupBefore = new Set(receiver.duplicates.keys());
  const sent = await sendOpenLoop({ baseUrl: target.url, token: target.token, rate: o.rate, durationS: o.durationS, idPrefix: o.idPrefix });
  const lastSend = performance.now();
  const accepted = [...sent].filter(([, s]) => s.status === 202).map(([id]) => id);

  let missing = accepted.filter((id) => !receiver.firstByte.has(id));
  let lastProgress = performance.now();
  const drainDeadline = lastSend + o.maxDrainS * 1000;
  while (missing.length > 0 && performance.now() - lastProgress < o.stallS * 1000 && performance.now() < drainDeadline) {
    await sleep(100);
    const before = missing.length;
    missing = missing.filter((id) => !receiver.firstByte.has(id));
    if (missing.length < before) lastProgress = performance.now();
  }
  const usage = window.end();

  const propagation: number[] = [];
  let lastArrival = lastSend;
  for (const id of accepted) {
    const at = receiver.firstByte.get(id);
    if (at === undefined) continue;
    propagation.push(at - sent.get(id)!.start);
    if (at > lastArrival) lastArrival = at;
  }
  const rejected = [...sent.values()].filter((s) => s.status !== 202);
  const duplicates = [...receiver.duplicates.keys()].filter((id) => sent.has(id) && !dupBefore.has(id)).length;
  const drainS = (lastArrival - lastSend) / 1000;
  const stackCpuS = Object.entries(usage.processes)
    .filter(([name]) => !(name in (o.extraPids ?? {})))
    .reduce((sum, [, u]) => sum + (u.cpuPct / 100) * usage.seconds, 0);
  return {
    target: target.name,
    rate: o.rate,
    duration_s: o.durationS,
    sent: sent.size,
    accepted: accepted.length,
    rejected: rejected.length,
    rejected_examples: [...new Set(rejected.map((s) => s.error ?? `HTTP ${s.status}`))].slice(0, 3),
    received: propagation.length,
    lost: missing.length,
    duplicates,
    propagation_ms: summarize(propagation),
    ingest_ms: summarize(accepted.map((id) => sent.get(id)!.ingestMs!)),
    send_lag_ms: summarize([...sent.values()].map((s) => s.lagMs)),
    drain_s: Math.round(drainS * 10) / 10,
    delivered_per_s: Math.round((propagation.length / (o.durationS + Math.max(0, drainS))) * 10) / 10,
    cpu_ms_per_delivery: propagation.length ? Math.round((stackCpuS * 1000) / propagation.length) : Number.NaN,
    usage,
  };
}
