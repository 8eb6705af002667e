// A destination's `filter` (issue 13): a JSONata expression that decides, at ingest, whether an event
// starts a delivery to it. It runs in the transform engine's sandbox, under a mapping's time limit.
import type { TransformEngine, TransformError } from '../../sandboxes/index.ts';
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

/**
 * Whether `event` passes the destination's filter. A filter that fails at run time (a timeout, an
 * error thrown by a function it calls) lets the event through, with the error: a broken filter
 * must not lose events, and a delivery the receiver did not want is visible and replayable where a
 * dropped one is not.
 */
export async function applyFilter(engine: TransformEngine, destination: Destination, event: DeliveryEvent, deliveryId: string): Promise<FilterVerdict> {
  if (!destination.filter) return { pass: true };
  const outcome = await engine.run({
    // One compiled expression per destination: the engine recompiles when the source changes.
    key: `filter:${destination.id}`,
    language: 'jsonata',
    source: destination.filter,
    event,
    // A filter sees the same `$ctx` as a mapping; it runs before any mapping, so names none.
    ctx: { destination: { id: destination.id, url: destination.url }, delivery: { id: deliveryId }, mapping: { id: '', version: 0 } },
  });
  if (!outcome.ok) return { pass: true, error: outcome.error };
  return { pass: outcome.result !== null && jsonataTruthy(outcome.result.body) };
}
