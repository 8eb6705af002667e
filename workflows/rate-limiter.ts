import { condition, continueAsNew, patched, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import { GateSignals, RecentKeys } from './gate-bookkeeping.ts';
import { gateQuery, permitSignal } from './gate-signals.ts';
import type { PermitRequest } from './types.ts';
import { packKey, packWaiting, unpackKey, unpackWaiting, type CarriedWaiting } from './waiting-list.ts';

/** What a limiter run hands to the next when it continues as new. */
export interface RateLimiterCarry {
  perS: number;
  tokens: number;
  /** Workflow time (ms) `tokens` was counted at. */
  at: number;
  /** The waiting requests, oldest first, as ids only (waiting-list.ts). */
  waiting?: CarriedWaiting;
  /** How runs before the compact form carried them; a run continued from one of those reads it. */
  queue?: PermitRequest[];
  /** Keys granted lately (packed, or whole from an older run): a repeated request (a producer's retry, a re-sent start) is not granted twice. */
  recent: string[];
  /** Spreading runs (SPREAD_PATCH): the earliest send-at (epoch ms, workflow time) of the next permit. */
  nextAt?: number;
}

/**
 * Runs with this patch spread the permits inside the second: each carries the moment its attempt may
 * send (`sendAt`, 1/perS apart, in grant order), which the attempt waits for in its worker, so no
 * one-second window at the receiver holds more than perS + 1 requests, whenever the limiter's timers
 * fire (the dev server fires them about once a second, and a second's permits used to go out together).
 * Histories without it replay the token bucket.
 */
export const SPREAD_PATCH = 'voiceoi-limiter-spread';
/** A spreading limiter grants permits whose send-at is at most this far ahead: its timers may fire a second late. */
export const GRANT_AHEAD_MS = 1_000;
/**
 * A permit granted while the limiter is pacing a backlog (its timer may fire late, and the delivery
 * still has to be told and start its attempt) sends at least this long after its grant, so it cannot
 * start after the next one's moment and overtake it. An idle limiter's first permit sends at once.
 */
const SEND_LEAD_MS = 300;

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
  let perS = carry?.perS ?? 1;
  const queue: PermitRequest[] = carry?.waiting ? unpackWaiting(carry.waiting, perS) : [...(carry?.queue ?? [])];
  const queued = new Set(queue.map((r) => r.key));
  /** Keys granted lately. */
  const recent = new RecentKeys(RECENT_KEYS, carry?.recent.map(unpackKey));
  const signals = new GateSignals();
  let tokens: number | undefined = carry?.tokens;
  let at = carry?.at ?? Date.now();
  // Asked in the run's first activation, before any command, so a replay decides as the run did.
  const spread = patched(SPREAD_PATCH);
  let nextAt = carry?.nextAt ?? 0;

  setHandler(permitSignal, (r) => {
    perS = r.perS;
    if (recent.has(r.key) || queued.has(r.key)) return;
    queued.add(r.key);
    queue.push(r);
  });
  setHandler(gateQuery, () => ({ waiting: queue.map((r) => r.deliveryId), tokens, perS }));

  const refill = () => {
    const now = Date.now();
    // A new limiter starts full: an idle one completes only once its bucket is full again.
    tokens = Math.min(perS, (tokens ?? perS) + ((now - at) * perS) / 1000);
    at = now;
  };
  const grant = (r: PermitRequest, sendAt?: number) => {
    queued.delete(r.key);
    recent.add(r.key);
    // A delivery that ended meanwhile cannot take its permit: the signal fails and the permit returns
    // (a spread permit's moment passes unused: the next ones keep their spacing).
    void signals.send(r.deliveryId, sendAt === undefined ? { kind: 'permit', key: r.key } : { kind: 'permit', key: r.key, sendAt }).then((delivered) => {
      if (!delivered && sendAt === undefined) tokens = Math.min(perS, (tokens ?? perS) + 1);
    });
  };

  if (spread) return spreading();

  // One permit every 1/perS, no burst: the n-th permit of a backlog may send at nextAt + n/perS.
  async function spreading(): Promise<void> {
    if (!carry) await condition(() => queue.length > 0);
    for (;;) {
      const now = Date.now();
      const pacing = nextAt + 1000 / perS > now;
      while (queue.length > 0 && nextAt <= now + GRANT_AHEAD_MS) {
        const sendAt = Math.max(pacing ? now + SEND_LEAD_MS : now, nextAt);
        nextAt = sendAt + 1000 / perS;
        grant(queue.shift()!, sendAt);
      }
      if (workflowInfo().historyLength > MAX_HISTORY || workflowInfo().continueAsNewSuggested) {
        await signals.settle();
        return await continueAsNew<typeof rateLimiterWorkflow>({ perS, tokens: 0, at: Date.now(), nextAt, waiting: packWaiting(queue), recent: recent.list.map(packKey) });
      }
      if (queue.length > 0) {
        await sleep(Math.max(MIN_WAIT_MS, Math.ceil(nextAt - GRANT_AHEAD_MS - Date.now())));
        continue;
      }
      if (await condition(() => queue.length > 0, Math.max(0, Math.ceil(nextAt - Date.now())) + LINGER_MS)) continue;
      await signals.settle();
      if (queue.length === 0) return;
    }
  }

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
      await signals.settle();
      refill();
      return await continueAsNew<typeof rateLimiterWorkflow>({ perS, tokens: tokens!, at, waiting: packWaiting(queue), recent: recent.list.map(packKey) });
    }
    if (queue.length > 0) {
      await sleep(Math.max(MIN_WAIT_MS, Math.ceil(((1 - tokens!) * 1000) / perS)));
      continue;
    }
    const untilFull = Math.ceil(((perS - tokens!) * 1000) / perS);
    if (await condition(() => queue.length > 0, untilFull + LINGER_MS)) continue;
    await signals.settle();
    if (queue.length === 0) return;
  }
}
