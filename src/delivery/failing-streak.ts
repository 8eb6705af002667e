import type { AttemptRecord } from '../../workflows/types.ts';
import type { DestinationStore } from '../store/destinations.ts';
import type { FailingStreakStore } from '../store/failing-streaks.ts';

/** A destination whose every attempt failed for this long is disabled (DESIGN: "fails every delivery for 5 days"). */
export const DISABLE_AFTER_FAILING_MS = 5 * 86_400_000;

export interface FailingStreak {
  /**
   * Folds one attempt into the destination's streak: a 2xx ends it, a failed request extends it, and
   * a streak older than the limit disables the destination with a reason, which it answers (the
   * health step alerts with it, destination-health.ts). Never throws: bookkeeping must not turn a
   * recorded attempt into a failed activity.
   */
  record(destinationId: string, attempt: AttemptRecord): Promise<{ disabledReason: string } | undefined>;
  /** When the current streak began, if the destination is failing. */
  since(destinationId: string): Promise<string | undefined>;
}

/** Whether the destination itself answered badly; undefined when no request reached it (paused, refused, credentials). */
function failed(a: AttemptRecord): boolean | undefined {
  if (a.response) return a.response.status < 200 || a.response.status >= 300;
  const code = a.error?.code ?? '';
  return code === 'timeout' || code.startsWith('network_') ? true : undefined;
}

const describe = (a: AttemptRecord): string => (a.response ? `HTTP ${a.response.status}` : (a.error?.code ?? 'error'));

export function createFailingStreak(deps: {
  streaks: FailingStreakStore;
  destinations: DestinationStore;
  now?: () => Date;
  disableAfterMs?: number;
  onError?: (err: unknown) => void;
}): FailingStreak {
  const { streaks } = deps;
  const now = deps.now ?? (() => new Date());
  const limit = deps.disableAfterMs ?? DISABLE_AFTER_FAILING_MS;

  async function record(destinationId: string, attempt: AttemptRecord): Promise<{ disabledReason: string } | undefined> {
    const verdict = failed(attempt);
    if (verdict === undefined) return;
    if (!verdict) {
      await streaks.clear(destinationId);
      return;
    }
    const at = now().toISOString();
    const failingSince = await streaks.extend(destinationId, at);
    if (Date.parse(at) - Date.parse(failingSince) < limit) return;
    const dest = await deps.destinations.getById(destinationId);
    let disabledReason: string | undefined;
    if (dest?.enabled) {
      const days = Math.floor((Date.parse(at) - Date.parse(failingSince)) / 86_400_000);
      const reason = `every delivery failed for ${days} days (since ${failingSince}; last: ${describe(attempt)} at ${at}); fix the endpoint, then re-enable it and recover the failed deliveries`;
      if (await deps.destinations.disable(dest.account_id, dest.id, reason)) disabledReason = reason;
    }
    // Re-enabling starts a fresh streak.
    await streaks.clear(destinationId);
    return disabledReason ? { disabledReason } : undefined;
  }

  return {
    async record(destinationId, attempt) {
      try {
        return await record(destinationId, attempt);
      } catch (err) {
        deps.onError?.(err);
        return undefined;
      }
    },
    since: (destinationId) => streaks.since(destinationId),
  };
}
