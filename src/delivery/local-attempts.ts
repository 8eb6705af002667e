/**
 * A first attempt run as a local activity holds one of the worker's workflow-task slots (40 by default)
 * until the receiver answers: a receiver that hangs for 12 s at 40 events/s held them all, and every
 * other account's deliveries waited behind it (issue 19). So a destination runs its attempts inside a
 * workflow task only while it is fast on this worker: at most LOCAL_PER_DESTINATION at once, and none
 * for SLOW_FOR_MS once one of its attempts has taken longer than SLOW_MS — judged while that attempt is
 * still in flight, so a receiver that hangs is found out after SLOW_MS, not when its first answer comes
 * back. Per worker process, in memory: what it protects is this process's own slots.
 */
export const LOCAL_PER_DESTINATION = 4;
export const SLOW_MS = 1_000;
export const SLOW_FOR_MS = 60_000;
const MAX_TRACKED = 10_000;

export interface LocalAttempts {
  /** Whether an attempt at this destination may run inside the workflow task; if so, call the answer when it ends. */
  tryStart(destinationId: string, nowMs?: number): (() => void) | undefined;
  /** Every attempt's duration on this worker, local or not. */
  observed(destinationId: string, durationMs: number, nowMs?: number): void;
}

export function createLocalAttempts(): LocalAttempts {
  // The start times of the attempts running inside workflow tasks, per destination.
  const running = new Map<string, Set<{ at: number }>>();
  const slowUntil = new Map<string, number>();
  const markSlow = (destinationId: string, nowMs: number) => {
    // Insertion order is age: the oldest entries go first when the map is full.
    slowUntil.delete(destinationId);
    slowUntil.set(destinationId, nowMs + SLOW_FOR_MS);
    if (slowUntil.size > MAX_TRACKED) slowUntil.delete(slowUntil.keys().next().value!);
  };
  return {
    tryStart(destinationId, nowMs = Date.now()) {
      if ((slowUntil.get(destinationId) ?? 0) > nowMs) return undefined;
      const mine = running.get(destinationId) ?? new Set<{ at: number }>();
      for (const r of mine) {
        if (nowMs - r.at > SLOW_MS) {
          markSlow(destinationId, nowMs);
          return undefined;
        }
      }
      if (mine.size >= LOCAL_PER_DESTINATION) return undefined;
      const entry = { at: nowMs };
      mine.add(entry);
      running.set(destinationId, mine);
      return () => {
        mine.delete(entry);
        if (mine.size === 0 && running.get(destinationId) === mine) running.delete(destinationId);
      };
    },
    observed(destinationId, durationMs, nowMs = Date.now()) {
      if (durationMs > SLOW_MS) markSlow(destinationId, nowMs);
    },
  };
}
