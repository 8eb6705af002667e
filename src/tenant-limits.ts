// Bounds on what one account can make the platform hold or do (issue 19, point 6), each set by the
// operator (src/config.ts, VOICEOI_MAX_*). Past one, the request is refused with 409 and a code
// naming the bound; deleting something frees room. docs/operations/isolation-and-quotas.md lists them ("Bounds per account").
import { eventTypes, isOperationalEventType } from './events/catalog.ts';
import { AppError } from './errors.ts';

/** Refuses when `count` things already exist and the bound is `max`. */
export function assertRoom(count: number, max: number, what: string, code: string): void {
  if (count < max) return;
  throw new AppError(409, code, `This account has ${count} ${what}, the most it may have (${max}); delete one first`, { limit: max });
}

/** The event types a destination subscribed to `subscribed` receives (`*`: every call event, no hook.* alerts). */
export function receivedTypes(subscribed: readonly string[]): string[] {
  const all = subscribed.includes('*');
  return eventTypes.filter((t) => subscribed.includes(t) || (all && !isOperationalEventType(t)));
}

/**
 * Fan-out: how many destinations one event starts deliveries to. Checked when a destination is
 * created or its event types change, not at ingest: an event the producer cannot fix by resending
 * must never be refused for the tenant's configuration, and one that was accepted must never lose
 * some of its deliveries. Every destination counts, enabled or not, so that enabling one never
 * needs a check of its own.
 */
export function assertFanout(others: readonly { event_types: readonly string[] }[], subscribed: readonly string[], max: number): void {
  const counts = new Map<string, number>();
  for (const d of others) for (const t of receivedTypes(d.event_types)) counts.set(t, (counts.get(t) ?? 0) + 1);
  const over = receivedTypes(subscribed).filter((t) => (counts.get(t) ?? 0) >= max);
  if (over.length === 0) return;
  throw new AppError(
    409,
    'fanout_limit_reached',
    `event_types: ${over.map((t) => `'${t}'`).join(', ')} already reach${over.length === 1 ? 'es' : ''} ${max} destinations of this account, the most one event may be delivered to`,
    { field: 'event_types', event_types: over, limit: max },
  );
}
