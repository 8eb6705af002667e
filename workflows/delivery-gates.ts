import { CancellationScope, condition, getExternalWorkflowHandle, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { GateActivities } from '../src/temporal/gates.ts';
import { doneSignal, gateSignal } from './gate-signals.ts';
import type { DeliveryInput, DeliveryState } from './types.ts';

/** Runs with this patch wait at their gates; a history a worker without gates started replays without. */
export const DELIVERY_GATES_PATCH = 'voiceoi-delivery-gates';

// Asking is idempotent (the limiter ignores a key it knows), so Temporal may retry it.
const { requestPermit } = proxyActivities<GateActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

export interface DeliveryGateStep {
  /**
   * Waits, durably, until this attempt may start: the call's turn (once), then a rate-limit permit.
   * Answers the permit's send-at (epoch ms), when the limiter spreads its permits.
   */
  beforeAttempt(): Promise<number | undefined>;
  /** The run continues as new: the next run keeps the call's turn, so this one does not pass it on. */
  keepTurn(): void;
  /** The delivery ended: its call's next delivery may start. */
  release(): Promise<void>;
}

const NO_GATES: DeliveryGateStep = { beforeAttempt: async () => undefined, keepTurn() {}, release: async () => {} };

/**
 * The delivery's side of its destination's controls (`gates`, pinned at start). The API asked for the
 * first run's turn and, when the destination is not ordered, for its first attempt's permit, right
 * after starting the delivery: their places are in acceptance order. Later permits (retries, a run
 * continued as new, an attempt again after a pause) are asked for here when the attempt is due.
 */
export function deliveryGates(input: DeliveryInput, state: DeliveryState): DeliveryGateStep {
  const gates = input.gates;
  if (!gates || !patched(DELIVERY_GATES_PATCH)) return NO_GATES;
  const { firstExecutionRunId: run, runId } = workflowInfo();
  /** Permits received, by key, with their send-at. */
  const permits = new Map<string, number | undefined>();
  // Runs continue as new only after the first attempt, which had the turn: the next run holds it still.
  let turn = !gates.sequencer || input.continued !== undefined;
  let ahead: string | undefined;
  let asked = 0;
  let keep = false;
  let released = false;

  setHandler(gateSignal, (m) => {
    if (m.kind === 'permit') permits.set(m.key, m.sendAt);
    else if (m.run !== run) return;
    else if (m.kind === 'turn') turn = true;
    else ahead = m.ahead;
  });

  // The reason follows the wait: a `behind` message may name the delivery ahead meanwhile.
  const waitFor = async (ready: () => boolean, reason: () => string) => {
    if (ready()) return;
    while (!ready()) {
      const shown = reason();
      state.reason = shown;
      await condition(() => ready() || reason() !== shown);
    }
    state.reason = undefined;
  };

  return {
    async beforeAttempt() {
      await waitFor(
        () => turn,
        () => (ahead ? `waiting for ${ahead}` : 'waiting for the earlier deliveries of its call'),
      );
      const limit = gates.rateLimit;
      if (!limit) return undefined;
      let key: string;
      if (asked === 0 && !gates.sequencer && input.continued === undefined) key = `${run}/1`;
      else {
        key = `${runId}/${asked + 1}`;
        await requestPermit({ limiter: limit.limiter, request: { key, deliveryId: input.deliveryId, perS: limit.perS } });
      }
      asked++;
      await waitFor(
        () => permits.has(key),
        () => `waiting for the destination's rate limit (${limit.perS}/s)`,
      );
      const sendAt = permits.get(key);
      permits.delete(key);
      return sendAt;
    },
    keepTurn() {
      keep = true;
    },
    async release() {
      if (!gates.sequencer || keep || released) return;
      released = true;
      const sequencer = gates.sequencer;
      await CancellationScope.nonCancellable(async () => {
        // A sequencer that is gone holds no turn of this delivery: nothing to pass on.
        await getExternalWorkflowHandle(sequencer)
          .signal(doneSignal, { deliveryId: input.deliveryId, run })
          .catch(() => undefined);
      });
    },
  };
}
