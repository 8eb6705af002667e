import type { AttemptInput, AttemptRecord, TransformOutcome } from '../../workflows/types.ts';
import { performAttempt, type AttemptDeps } from '../delivery/attempt.ts';
import { boundRecord } from '../delivery/recorded.ts';
import type { TransformInput } from '../transform/transform-step.ts';

export type { TransformInput };

export interface ActivityDeps extends AttemptDeps {
  /** Runs the pinned mapping version of the delivery (src/transform/transform-step.ts). */
  transform: (input: TransformInput) => Promise<TransformOutcome>;
}

/** The activities of the delivery workflow, bound to the worker's services. */
export function createDeliveryActivities(deps: ActivityDeps) {
  return {
    async transformEvent(input: TransformInput): Promise<TransformOutcome> {
      return deps.transform(input);
    },
    async attemptDelivery(input: AttemptInput): Promise<AttemptRecord> {
      // Bounded here, where the record enters history, whatever path of the attempt produced it.
      return boundRecord(await performAttempt(deps, input));
    },
  };
}

export type DeliveryActivities = ReturnType<typeof createDeliveryActivities>;
