import { Context } from '@temporalio/activity';
import type { AttemptInput, AttemptRecord, DeliveryEndedInput, TransformOutcome } from '../../workflows/types.ts';
import { performAttempt, type AttemptDeps } from '../delivery/attempt.ts';
import type { DestinationHealth } from '../delivery/destination-health.ts';
import { boundRecord } from '../delivery/recorded.ts';
import type { OperationalEvents } from '../events/operational.ts';
import type { TransformInput } from '../transform/transform-step.ts';
import { inputAccount } from '../delivery/input-account.ts';

export type { TransformInput };

export interface ActivityDeps extends AttemptDeps {
  /** Runs the pinned mapping version of the delivery (src/transform/transform-step.ts). */
  transform: (input: TransformInput) => Promise<TransformOutcome>;
  /** The auto-disable rules (410 Gone, the failing streak), applied to every attempt before the workflow sees it. */
  health: DestinationHealth;
  /** Emits hook.* events (src/events/operational.ts); absent, a failed delivery alerts no one. */
  operational?: OperationalEvents;
}

/** The activities of the delivery workflow, bound to the worker's services. */
export function createDeliveryActivities(deps: ActivityDeps) {
  return {
    async transformEvent(input: TransformInput): Promise<TransformOutcome> {
      return deps.transform(input);
    },
    async attemptDelivery(input: AttemptInput): Promise<AttemptRecord> {
      // Bounded here, where the record enters history, whatever path of the attempt produced it.
      const record = boundRecord(await performAttempt(deps, input));
      await deps.health.afterAttempt(inputAccount(input), input.destinationId, record);
      return record;
    },
    /**
     * A delivery failed for good: hook.delivery_failed and, when its last attempt disabled the
     * destination (410 Gone), hook.destination_disabled. Idempotent (deterministic event ids), so
     * Temporal may retry it.
     */
    async deliveryFailed(input: DeliveryEndedInput): Promise<void> {
      const { operational } = deps;
      if (!operational) return;
      if (input.gone) {
        const dest = await deps.destinations.getById(input.destinationId);
        if (dest && !dest.enabled && dest.disabled_reason) await operational.destinationDisabled(dest.account_id, dest.id, dest.disabled_reason);
      }
      await operational.deliveryFailed({ ...input, runId: Context.current().info.workflowExecution?.runId ?? '' });
    },
  };
}

export type DeliveryActivities = ReturnType<typeof createDeliveryActivities>;
