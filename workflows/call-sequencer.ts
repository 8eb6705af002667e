import { condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { GateSignals, RecentKeys } from './gate-bookkeeping.ts';
import { doneSignal, enqueueSignal, gateQuery } from './gate-signals.ts';
import type { TurnRequest } from './types.ts';

/** What a sequencer run hands to the next when it continues as new. */
export interface CallSequencerCarry {
  queue: TurnRequest[];
  current: TurnRequest | null;
  /** Runs that ended lately: a late or repeated enqueue of one (a producer's retry) takes no turn. */
  ended: string[];
}

const ENDED_RUNS = 1000;
const MAX_HISTORY = 4000;
/**
 * While a delivery holds the turn the sequencer re-sends it the turn this often: a delivery that no
 * longer exists (terminated, never to say done) makes that signal fail, and the turn moves on.
 */
const HOLDER_CHECK = '10 minutes';
/** An idle sequencer stays this long for its call's next event before it completes. */
const LINGER = '30 seconds';

/**
 * `ordering: "per_call"`: one destination's deliveries of one call (`order:<destination>:<call hash>`)
 * reach it one at a time, in the order the API accepted them (it enqueues each right after starting
 * it). The turn passes when its holder says done: delivered, failed for good, skipped or cancelled.
 */
export async function callSequencerWorkflow(carry?: CallSequencerCarry): Promise<void> {
  const queue: TurnRequest[] = [...(carry?.queue ?? [])];
  let current: TurnRequest | null = carry?.current ?? null;
  const ended = new RecentKeys(ENDED_RUNS, carry?.ended);
  const signals = new GateSignals();
  const send = signals.send.bind(signals);
  const end = (run: string) => ended.add(run);

  setHandler(enqueueSignal, (r) => {
    if (ended.has(r.run) || current?.run === r.run || queue.some((q) => q.run === r.run)) return;
    const ahead = queue.at(-1) ?? current;
    queue.push(r);
    // Only a delivery that will wait is told whom for: the common case costs no signal.
    if (ahead) void send(r.deliveryId, { kind: 'behind', run: r.run, ahead: ahead.deliveryId });
  });
  setHandler(doneSignal, (r) => {
    end(r.run);
    if (current?.run === r.run) {
      current = null;
      return;
    }
    // Ended before its turn (skipped by its mapping, cancelled): it leaves the queue.
    const i = queue.findIndex((q) => q.run === r.run);
    if (i < 0) return;
    queue.splice(i, 1);
    const behind = queue[i];
    const ahead = queue[i - 1] ?? current;
    if (behind && ahead) void send(behind.deliveryId, { kind: 'behind', run: behind.run, ahead: ahead.deliveryId });
  });
  setHandler(gateQuery, () => ({ waiting: queue.map((q) => q.deliveryId), current: current?.deliveryId ?? null }));

  // A fresh sequencer is started by the enqueue it is signalled with: waiting for it costs no timer.
  if (!carry) await condition(() => queue.length > 0 || current !== null || ended.size > 0);
  for (;;) {
    if (current === null && queue.length > 0) {
      const next = queue.shift()!;
      current = next;
      // A delivery that no longer exists cannot take its turn: the next one gets it.
      if (!(await send(next.deliveryId, { kind: 'turn', run: next.run })) && current === next) {
        end(next.run);
        current = null;
      }
      continue;
    }
    if (workflowInfo().historyLength > MAX_HISTORY || workflowInfo().continueAsNewSuggested) {
      await signals.settle();
      return await continueAsNew<typeof callSequencerWorkflow>({ queue, current, ended: ended.list });
    }
    if (current !== null) {
      const holder: TurnRequest = current;
      if (!(await condition(() => current !== holder, HOLDER_CHECK)) && !(await send(holder.deliveryId, { kind: 'turn', run: holder.run })) && current === holder) {
        end(holder.run);
        current = null;
      }
      continue;
    }
    if (await condition(() => queue.length > 0, LINGER)) continue;
    await signals.settle();
    if (queue.length === 0 && current === null) return;
  }
}
