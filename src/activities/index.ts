import type { AttemptInput, AttemptRecord, DeliveryEvent, TransformOutcome } from '../../workflows/types.ts';
import { performAttempt, type AttemptDeps } from '../delivery/attempt.ts';

export interface TransformInput {
  destinationId: string;
  deliveryId: string;
  event: DeliveryEvent;
}

export interface ActivityDeps extends AttemptDeps {
  /** Runs the destination's mapping; absent until mappings are configured. */
  transform?: (input: TransformInput) => Promise<TransformOutcome>;
}

/** The activities of the delivery workflow, bound to the worker's services. */
export function createDeliveryActivities(deps: ActivityDeps) {
  return {
    async transformEvent(input: TransformInput): Promise<TransformOutcome> {
      if (deps.transform) return deps.transform(input);
      return { mapping: null, request: { method: 'POST', body: input.event }, duration_ms: 0 };
    },
    async attemptDelivery(input: AttemptInput): Promise<AttemptRecord> {
      return performAttempt(deps, input);
    },
  };
}

export type DeliveryActivities = ReturnType<typeof createDeliveryActivities>;
