// A destination's `filter` (issue 13): a JSONata expression that decides, at ingest, whether an event
// starts a delivery to it. It runs in the transform engine's sandbox, under a mapping's time limit.
import { NOT_RUN_CODES, type TransformEngine, type TransformError } from '../../sandboxes/index.ts';
import { AppError } from '../errors.ts';
import type { DeliveryEvent } from '../../workflows/types.ts';
import type { Destination } from '../store/destinations.ts';

export type FilterVerdict = { pass: boolean; error?: TransformError };

/**
 * JSONata's own $boolean: what `$boolean(result)` would say. The engine hands back a JSONata
 * result as `{ body }`, and `undefined` (no match) as no request at all.
 */
function jsonataTruthy(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (Array.isArray(value)) return value.some(jsonataTruthy);
  switch (typeof value) {
    case 'boolean':
      return value;
    case 'number':
      return value !== 0;
    case 'string':
      return value.length > 0;
    case 'object':
      return Object.keys(value).length > 0;
    default:
      return false;
  }
}

/** How soon a producer refused with sandbox_busy should send again: a run's time limit is at most 5 s. */
export const SANDBOX_BUSY_RETRY_S = 2;

/**
 * Whether `event` passes the destination's filter. A filter that fails at run time (a timeout, an
 * error thrown by a function it calls) lets the event through, with the error: a broken filter
 * must not lose events, and a delivery the receiver did not want is visible and replayable where a
 * dropped one is not. A filter that could not run at all (the sandbox busy with this account's
 * runs, or shutting down) is no verdict: it throws a temporary `503 sandbox_busy`, before the event
 * is claimed, and the producer sends the event again.
 */
export async function applyFilter(engine: TransformEngine, destination: Destination, event: DeliveryEvent, deliveryId: string): Promise<FilterVerdict> {
  if (!destination.filter) return { pass: true };
  const outcome = await engine.run({
    accountId: destination.account_id,
    // One compiled expression per destination: the engine recompiles when the source changes.
    key: `filter:${destination.id}`,
    language: 'jsonata',
    source: destination.filter,
    event,
    // A filter sees the same `$ctx` as a mapping; it runs before any mapping, so names none.
    ctx: { destination: { id: destination.id, url: destination.url }, delivery: { id: deliveryId }, mapping: { id: '', version: 0 } },
  });
  if (!outcome.ok && NOT_RUN_CODES.has(outcome.error.code)) {
    throw new AppError(503, 'sandbox_busy', `The event was not accepted: the filter of destination '${destination.id}' could not run now (${outcome.error.message}). Send it again with the same id.`, {
      retry_after_s: SANDBOX_BUSY_RETRY_S,
    });
  }
  if (!outcome.ok) return { pass: true, error: outcome.error };
  return { pass: outcome.result !== null && jsonataTruthy(outcome.result.body) };
}
