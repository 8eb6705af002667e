/**
 * A first attempt run as a local activity holds one of the worker's workflow-task slots (40 by default)
 * until the receiver answers: a receiver that hangs for 12 s at 40 events/s held them all, and every
 * other account's deliveries waited behind it (issue 19). So a destination runs its attempts inside a
 * workflow task only while it is fast on this worker: at most LOCAL_PER_DESTINATION at once, and none
 * for SLOW_FOR_MS after one of its attempts took longer than SLOW_MS. Per worker process, in memory:
 * what it protects is this process's own slots.
 */
export const LOCAL_PER_DESTINATION = 2;
export const SLOW_MS = 1_000;
export const SLOW_FOR_MS = 60_000;
const MAX_TRACKED = 10_000;

export interface LocalAttempts {
  /** Whether an attempt at this destination may run inside the workflow task; if so it is counted until `done`. */
  tryStart(destinationId: string, nowMs?: number): boolean;
  done(destinationId: string): void;
  /** Every attempt's duration on this worker, local or not. */
  observed(destinationId: string, durationMs: number, nowMs?: number): void;
}

export function createLocalAttempts(): LocalAttempts {
  const running = new Map<string, number>();
  const slowUntil = new Map<string, number>();
  return {
    tryStart(destinationId, nowMs = Date.now()) {
      const n = running.get(destinationId) ?? 0;
      if (n >= LOCAL_PER_DESTINATION || (slowUntil.get(destinationId) ?? 0) > nowMs) return false;
      running.set(destinationId, n + 1);
      return true;
    },
    done(destinationId) {
      const n = (running.get(destinationId) ?? 1) - 1;
      if (n <= 0) running.delete(destinationId);
      else running.set(destinationId, n);
    },
    observed(destinationId, durationMs, nowMs = Date.now()) {
      if (durationMs <= SLOW_MS) return;
      // Insertion order is age: the oldest entries go first when the map is full.
      slowUntil.delete(destinationId);
      slowUntil.set(destinationId, nowMs + SLOW_FOR_MS);
      if (slowUntil.size > MAX_TRACKED) slowUntil.delete(slowUntil.keys().next().value!);
    },
  };
}
