import { Context } from '@temporalio/activity';
import type { AttemptInput, AttemptRecord, DeliveryEndedInput, TransformOutcome } from '../../workflows/types.ts';
import { performAttempt, type AttemptDeps } from '../delivery/attempt.ts';
import type { DestinationHealth } from '../delivery/destination-health.ts';
import type { OperationalEvents } from '../events/operational.ts';
import type { TransformInput } from '../transform/transform-step.ts';
import { nowIso } from '../ids.ts';
import { inputAccount } from '../delivery/input-account.ts';
import { createLocalAttempts, type LocalAttempts } from '../delivery/local-attempts.ts';

export type { TransformInput };

export interface ActivityDeps extends AttemptDeps {
  /** Runs the pinned mapping version of the delivery (src/transform/transform-step.ts). */
  transform: (input: TransformInput) => Promise<TransformOutcome>;
  /** The auto-disable rules (410 Gone, the failing streak) and their alert, applied to every attempt before the workflow sees it. */
  health: DestinationHealth;
  /** Emits hook.* events (src/events/operational.ts); absent, a failed delivery alerts no one. */
  operational?: OperationalEvents;
  /** Which destinations may run an attempt inside a workflow task on this worker (voiceoi-v5 runs). */
  localAttempts?: LocalAttempts;
}

/** The activities of the delivery workflow, bound to the worker's services. */
export function createDeliveryActivities(deps: ActivityDeps) {
  const local = deps.localAttempts ?? createLocalAttempts();
  return {
    async transformEvent(input: TransformInput): Promise<TransformOutcome> {
      // Run locally, its outcome arrives inside the workflow task that asked for it: the workflow's
      // clock is earlier than this (workflows/moments.ts).
      return { ...(await deps.transform(input)), finished_at: nowIso() };
    },
    async attemptDelivery(input: AttemptInput): Promise<AttemptRecord> {
      // Runs that know `not_local` (input.slot) send a slow destination's attempt as an ordinary
      // activity; the check comes once the attempt holds its slot, so one over the bound just waits.
      const inTask = input.slot !== undefined && Context.current().info.isLocal;
      let done: (() => void) | undefined;
      const sendHere = () => (done = local.tryStart(input.destinationId)) !== undefined;
      let record: AttemptRecord;
      try {
        record = await performAttempt(deps, input, inTask ? { sendHere } : {});
      } finally {
        done?.();
      }
      // An attempt made again (waiting for a slot, or not here): nothing was sent, nothing to judge.
      if (record.hold) return record;
      local.observed(input.destinationId, record.duration_ms);
      await deps.health.afterAttempt(inputAccount(input), input.destinationId, record);
      return record;
    },
    /**
     * A delivery failed for good: hook.delivery_failed. hook.destination_disabled is the health
     * step's (afterAttempt); when the last attempt disabled the destination (410 Gone) it is asked
     * again here, where Temporal retries it, and deduplicated when it was already emitted.
     * Idempotent (deterministic event ids), so Temporal may retry it.
     */
    async deliveryFailed(input: DeliveryEndedInput): Promise<void> {
      const { operational } = deps;
      if (!operational) return;
      if (input.gone) await deps.health.alertIfDisabled(input.destinationId);
      await operational.deliveryFailed({ ...input, runId: Context.current().info.workflowExecution?.runId ?? '' });
    },
  };
}

export type DeliveryActivities = ReturnType<typeof createDeliveryActivities>;
