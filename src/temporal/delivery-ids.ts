/** The delivery id IS the workflow id, so starting it twice is deduplicated by Temporal itself. */
export const deliveryId = (destinationId: string, eventId: string): string => `delivery:${destinationId}:${eventId}`;

export function parseDeliveryId(id: string): { destinationId: string; eventId: string } | undefined {
  const m = /^delivery:([^:]+):(.+)$/s.exec(id);
  return m ? { destinationId: m[1]!, eventId: m[2]! } : undefined;
}
