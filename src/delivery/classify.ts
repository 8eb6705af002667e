import type { AttemptVerdict } from '../../workflows/types.ts';

/** DESIGN.md "Delivery semantics": which HTTP answers are retried. */
export function verdictForStatus(status: number): AttemptVerdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'gone';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry';
  return 'failed';
}
