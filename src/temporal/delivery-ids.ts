import { MAX_EVENT_ID_LENGTH } from '../events/catalog.ts';
import { ID_RANDOM_LENGTH } from '../ids.ts';

/** The delivery id IS the workflow id, so starting it twice is deduplicated by Temporal itself. */
export const deliveryId = (destinationId: string, eventId: string): string => `delivery:${destinationId}:${eventId}`;

export function parseDeliveryId(id: string): { destinationId: string; eventId: string } | undefined {
  const m = /^delivery:([^:]+):(.+)$/s.exec(id);
  return m ? { destinationId: m[1]!, eventId: m[2]! } : undefined;
}

/**
 * The longest delivery id as a URL path segment, for the router's parameter limit (fastify's default,
 * 100, refused ids of events from about 63 characters with 414). Counted percent-encoded, as a client
 * that escapes every segment sends it: of the characters an event id may hold only ':' is escaped (3
 * characters), so an id of colons is the longest.
 */
export const MAX_DELIVERY_ID_PARAM_LENGTH = encodeURIComponent(deliveryId(`dst_${'x'.repeat(ID_RANDOM_LENGTH)}`, ':'.repeat(MAX_EVENT_ID_LENGTH))).length;
