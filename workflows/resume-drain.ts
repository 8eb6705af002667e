import { condition, continueAsNew, defineSignal, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ResumeActivities } from '../src/activities/resume.ts';

/** How long one held delivery may take to answer before the rest of the backlog is released unordered. */
export const RESUME_STEP_TIMEOUT_MS = 30_000;

export interface ResumeScope {
  accountId: string;
  destinationId: string;
}
/** Where a drain is in its backlog: acceptance order is start time, then workflow id. */
export interface HeldCursor {
  start: number;
  id: string;
}
export interface HeldDelivery extends HeldCursor {
  runId: string;
}
export interface HeldPage {
  held: HeldDelivery[];
  /** More running deliveries follow the page's last one. */
  more: boolean;
}
/** `stalled`: the delivery did not answer within RESUME_STEP_TIMEOUT_MS (no worker serves it, or a slow attempt). */
export type ResumeOutcome = 'resumed' | 'not_held' | 'gone' | 'stalled';

/** What a drain run hands to the next when it continues as new. */
export interface ResumeDrainCarry {
  /** The page being drained. */
  pending: HeldDelivery[];
  /** The pass goes on after `pending` from this cursor; absent: the pass ends with `pending`. */
  next?: HeldCursor;
  /** A resume arrived during this pass: list the backlog again once it ends. */
  again: boolean;
}

/** API → drain: the destination was resumed (signalWithStart: it starts an idle drain). */
export const resumeAgainSignal = defineSignal('resume-again');

/** The drain workflow's id: one per destination, so every API replica's resume reaches the same drain. */
export const resumeDrainId = (destinationId: string): string => `resume:${destinationId}`;

const { listHeldDeliveries } = proxyActivities<ResumeActivities>({ startToCloseTimeout: '1 minute', retry: { maximumInterval: '30 seconds' } });
const { resumeHeldDelivery } = proxyActivities<ResumeActivities>({
  startToCloseTimeout: RESUME_STEP_TIMEOUT_MS + 15_000,
  retry: { maximumInterval: '30 seconds' },
});
const { releaseHeldDeliveries } = proxyActivities<ResumeActivities>({ startToCloseTimeout: '10 minutes', retry: { maximumInterval: '1 minute' } });

/** The history bound: past it a run continues as new (each resumed delivery costs about 6 events). */
const MAX_HISTORY = 6000;

/**
 * Ordering after a pause, for one destination (`resume:<destination id>`): each held delivery gets
 * the resume update, which answers only once its attempt is done, so the receiver sees the backlog in
 * accepted order (one in flight). Signalling all of them at once, or even one after the other without
 * waiting, lets the attempts race: measured on 20 held events, 42 of 190 pairs arrived out of order.
 * As a workflow the drain outlives the API process that started it, and a resume from another API
 * replica while it runs joins it (the backlog is listed again once this pass ends) instead of
 * starting a second drain beside it. The price is throughput (one attempt at a time), and the order
 * holds only while the drain lasts: each held delivery also re-checks on its own every 5 minutes, and
 * events accepted after the resume are not queued behind the backlog.
 */
export async function resumeDrainWorkflow(scope: ResumeScope, carry?: ResumeDrainCarry): Promise<void> {
  let again = carry?.again ?? false;
  let pending = [...(carry?.pending ?? [])];
  let next = carry?.next;
  setHandler(resumeAgainSignal, () => {
    again = true;
  });
  // A fresh drain is started by the resume it is signalled with (the first activation runs the body before its signals).
  if (!carry) await condition(() => again);

  for (;;) {
    if (pending.length === 0) {
      // No page left in this pass: a resume that arrived meanwhile starts another from the oldest.
      if (next === undefined) {
        if (!again) return;
        again = false;
      }
      const page = await listHeldDeliveries({ ...scope, after: next });
      pending = page.held;
      next = page.more ? page.held.at(-1) : undefined;
      continue;
    }
    if (workflowInfo().historyLength > MAX_HISTORY || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof resumeDrainWorkflow>(scope, { pending, next, again });
    }
    const held = pending.shift()!;
    if ((await resumeHeldDelivery(held)) === 'stalled') {
      // No worker is answering: release the rest of the pass at once rather than stall the backlog.
      await releaseHeldDeliveries({ ...scope, after: held });
      pending = [];
      next = undefined;
    }
  }
}
