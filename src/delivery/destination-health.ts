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
  afterAttempt(accountId: string, destinationId: string, attempt: AttemptRecord): Promise<void>;
}

export function createDestinationHealth(deps: { destinations: DestinationStore; streak: FailingStreak; now?: () => Date }): DestinationHealth {
  const now = deps.now ?? (() => new Date());
  return {
    async afterAttempt(accountId, destinationId, attempt) {
      // A 410 was answered to a request the attempt sent, so the destination is this account's
      // (prepareRequest checked); one deleted meanwhile updates nothing.
      if (attempt.verdict === 'gone') {
        await deps.destinations.update(accountId, destinationId, { enabled: false, disabled_reason: `the destination answered 410 Gone at ${now().toISOString()}` });
      }
      await deps.streak.record(destinationId, attempt);
    },
  };
}
