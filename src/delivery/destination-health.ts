import type { AttemptRecord } from '../../workflows/types.ts';
import type { DestinationStore } from '../store/destinations.ts';
import type { FailingStreak } from './failing-streak.ts';

/** The step after every attempt that holds both auto-disable rules (DESIGN: "Delivery semantics"). */
export interface DestinationHealth {
  /**
   * Folds one attempt into its destination's health, before the workflow sees the attempt: a 410 Gone
   * disables the destination at once (the delivery's deliveryFailed activity then emits
   * hook.destination_disabled with this reason), and every attempt feeds the failing streak, which
   * disables a destination that failed every delivery for 5 days (and emits through its onDisabled).
   * A failed 410 write throws, so the activity is retried rather than the destination left enabled.
   */
  afterAttempt(destinationId: string, attempt: AttemptRecord): Promise<void>;
}

export function createDestinationHealth(deps: { destinations: DestinationStore; streak: FailingStreak; now?: () => Date }): DestinationHealth {
  const now = deps.now ?? (() => new Date());
  return {
    async afterAttempt(destinationId, attempt) {
      if (attempt.verdict === 'gone') {
        const dest = await deps.destinations.getById(destinationId);
        if (dest) await deps.destinations.update(dest.account_id, dest.id, { enabled: false, disabled_reason: `the destination answered 410 Gone at ${now().toISOString()}` });
      }
      await deps.streak.record(destinationId, attempt);
    },
  };
}
