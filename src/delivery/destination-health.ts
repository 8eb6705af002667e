import type { AttemptRecord } from '../../workflows/types.ts';
import type { DestinationStore } from '../store/destinations.ts';
import type { FailingStreak } from './failing-streak.ts';

/** The step after every attempt that holds both auto-disable rules (DESIGN: "Delivery semantics"). */
export interface DestinationHealth {
  /**
   * Folds one attempt into its destination's health, before the workflow sees the attempt: a 410 Gone
   * disables the destination at once, and every attempt feeds the failing streak, which disables a
   * destination that failed every delivery for 5 days. Either disabling alerts through onDisabled,
   * whatever the delivery (a test send's too). A failed 410 write throws, so the activity is retried
   * rather than the destination left enabled; a failed alert does not (the retry would send the
   * request again): it is reported to onError, and alertIfDisabled at the delivery's end tries again.
   */
  afterAttempt(accountId: string, destinationId: string, attempt: AttemptRecord): Promise<void>;
  /**
   * Alerts again for a destination a delivery's last attempt disabled (410 Gone), if it is still
   * disabled, with the reason it holds: the delivery's end (deliveryFailed) calls it, retried by
   * Temporal, for an alert afterAttempt could not emit and for runs whose 410 came before afterAttempt
   * alerted. The alert's event id is derived from the reason (src/events/operational.ts), so one
   * already emitted is deduplicated, not doubled. Throws when the alert cannot be emitted.
   */
  alertIfDisabled(destinationId: string): Promise<void>;
}

export function createDestinationHealth(deps: {
  destinations: DestinationStore;
  streak: FailingStreak;
  /** A rule disabled the destination: hook.destination_disabled (src/events/operational.ts); `reason` is its disabled_reason. */
  onDisabled?: (accountId: string, destinationId: string, reason: string) => Promise<unknown>;
  onError?: (err: unknown) => void;
  now?: () => Date;
}): DestinationHealth {
  const now = deps.now ?? (() => new Date());
  return {
    async afterAttempt(accountId, destinationId, attempt) {
      let disabledReason: string | undefined;
      // A 410 was answered to a request the attempt sent, so the destination is this account's
      // (prepareRequest checked); one deleted meanwhile, or already disabled by another attempt's
      // 410, changes nothing and alerts no one.
      if (attempt.verdict === 'gone') {
        const reason = `the destination answered 410 Gone at ${now().toISOString()}`;
        if (await deps.destinations.disable(accountId, destinationId, reason)) disabledReason = reason;
      }
      // Every attempt feeds the streak; after a 410 it finds the destination disabled and disables nothing.
      const streak = await deps.streak.record(destinationId, attempt);
      disabledReason ??= streak?.disabledReason;
      if (!disabledReason || !deps.onDisabled) return;
      try {
        await deps.onDisabled(accountId, destinationId, disabledReason);
      } catch (err) {
        deps.onError?.(err);
      }
    },
    async alertIfDisabled(destinationId) {
      const dest = await deps.destinations.getById(destinationId);
      if (dest && !dest.enabled && dest.disabled_reason) await deps.onDisabled?.(dest.account_id, dest.id, dest.disabled_reason);
    },
  };
}
