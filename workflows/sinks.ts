import type { Sinks } from '@temporalio/workflow';
import type { DeliveryInput, DeliveryState, DeliveryStatus } from './types.ts';

/**
 * What the delivery workflow reports to the worker's Prometheus metrics (src/metrics.ts). Sinks leave
 * no trace in history and are skipped on replay, so a delivery is counted once, not per replay.
 */
export interface DeliverySinks extends Sinks {
  metrics: {
    finished(status: DeliveryStatus, info: { replay: boolean; propagationMs?: number }): void;
  };
}

export const TERMINAL: ReadonlySet<DeliveryStatus> = new Set(['delivered', 'failed', 'skipped', 'cancelled']);

/**
 * Event accepted → 2xx received, from the attempt's own clock (its start plus its duration), not the
 * workflow task's: the workflow learns of the 2xx one task later. Replays start from the original
 * acceptance, so they are left out rather than reported as days of latency.
 */
export function propagationMs(input: DeliveryInput, state: DeliveryState): number | undefined {
  const last = state.attempts[state.attempts.length - 1];
  if (input.replayOf || state.status !== 'delivered' || !last) return undefined;
  return Date.parse(last.started_at) + last.duration_ms - Date.parse(input.acceptedAt);
}
