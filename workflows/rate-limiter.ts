import { allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import { gateQuery, gateSignal, permitSignal } from './gate-signals.ts';
import type { PermitRequest } from './types.ts';

/** What a limiter run hands to the next when it continues as new. */
export interface RateLimiterCarry {
  perS: number;
  tokens: number;
  /** Workflow time (ms) `tokens` was counted at. */
  at: number;
  queue: PermitRequest[];
  /** Keys granted lately: a repeated request (a producer's retry, a re-sent start) is not granted twice. */
  recent: string[];
}

/** Below this a limiter does not sleep: at high rates it grants in batches rather than one timer per permit. */
const MIN_WAIT_MS = 100;
/** An idle limiter with a full bucket stays this long for the next request before it completes. */
const LINGER_MS = 30_000;
const RECENT_KEYS = 2000;
/** The history bound: past it a run continues as new (each permit costs about 6 events). */
const MAX_HISTORY = 8000;

/**
 * One destination's rate limit (`rate_limit_per_s`), shared by every worker process because it is one
 * workflow (`ratelimit:<destination id>`): a token bucket holding up to one second's worth, refilled
 * continuously, granting permits in the order they were asked. A waiting request costs nothing but a
 * queue entry; the limiter itself sleeps on durable timers only while it has a backlog.
 */
export async function rateLimiterWorkflow(carry?: RateLimiterCarry): Promise<void> {
  const queue: PermitRequest[] = [...(carry?.queue ?? [])];
  const recent: string[] = [...(carry?.recent ?? [])];
  const known = new Set<string>([...recent, ...queue.map((r) => r.key)]);
  let perS = carry?.perS ?? 1;
  let tokens: number | undefined = carry?.tokens;
  let at = carry?.at ?? Date.now();
  const pending = new Set<Promise<void>>();

  setHandler(permitSignal, (r) => {
    perS = r.perS;
    if (known.has(r.key)) return;
    known.add(r.key);
    queue.push(r);
  });
  setHandler(gateQuery, () => ({ waiting: queue.map((r) => r.deliveryId), tokens, perS }));

  const refill = () => {
    const now = Date.now();
    // A new limiter starts full: an idle one completes only once its bucket is full again.
    tokens = Math.min(perS, (tokens ?? perS) + ((now - at) * perS) / 1000);
    at = now;
  };
  const grant = (r: PermitRequest) => {
    recent.push(r.key);
    if (recent.length > RECENT_KEYS) known.delete(recent.shift()!);
    // A delivery that ended meanwhile cannot take its permit: the signal fails and the permit returns.
    const p = getExternalWorkflowHandle(r.deliveryId)
      .signal(gateSignal, { kind: 'permit', key: r.key })
      .catch(() => {
        tokens = Math.min(perS, (tokens ?? perS) + 1);
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  const settle = async () => {
    while (pending.size > 0) await Promise.all([...pending]);
    await condition(allHandlersFinished);
  };

  // A fresh limiter is started by the request it is signalled with: waiting for it here, not in the
  // idle wait below, costs no timer (the first activation runs the body before its signals).
  if (!carry) await condition(() => queue.length > 0);
  for (;;) {
    refill();
    while (queue.length > 0 && tokens! >= 1) {
      tokens! -= 1;
      grant(queue.shift()!);
    }
    if (workflowInfo().historyLength > MAX_HISTORY || workflowInfo().continueAsNewSuggested) {
      await settle();
      refill();
      return await continueAsNew<typeof rateLimiterWorkflow>({ perS, tokens: tokens!, at, queue, recent });
    }
    if (queue.length > 0) {
      await sleep(Math.max(MIN_WAIT_MS, Math.ceil(((1 - tokens!) * 1000) / perS)));
      continue;
    }
    const untilFull = Math.ceil(((perS - tokens!) * 1000) / perS);
    if (await condition(() => queue.length > 0, untilFull + LINGER_MS)) continue;
    await settle();
    if (queue.length === 0) return;
  }
}
