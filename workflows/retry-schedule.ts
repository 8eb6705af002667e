import type { AttemptVerdict } from './types.ts';

/** Longest wait a receiver's Retry-After can impose on one attempt. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;
/** ± share of each wait that is randomised, so a recovering receiver is not hit by a thundering herd. */
export const JITTER = 0.1;

/**
 * The wait before attempt `next` (1-based), or undefined when the schedule is exhausted.
 * A receiver's Retry-After lengthens the wait, never shortens it below the schedule.
 */
export function delayBeforeAttempt(
  scheduleS: readonly number[],
  next: number,
  retryAfterMs: number | undefined,
  random: () => number,
): number | undefined {
  const base = scheduleS[next - 1];
  if (base === undefined) return undefined;
  const jittered = base * 1000 * (1 + JITTER * (2 * random() - 1));
  return Math.max(Math.round(jittered), Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

export const isFinal = (v: AttemptVerdict): boolean => v !== 'retry';
