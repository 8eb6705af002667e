import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export interface DeliveryRef {
  id: string;
  destination_id: string;
}

export interface EventRecord {
  event_id: string;
  type: string;
  received_at: string;
  deliveries: DeliveryRef[];
}

export interface EventStore {
  /**
   * Records the event's fan-out the first time its id is seen, and returns the record that won:
   * a duplicate (even a concurrent one) gets the first request's destinations, so it starts nothing new.
   */
  claim(accountId: string, record: EventRecord): Promise<EventRecord>;
  /** The record of an event id already seen; claim still decides between concurrent first requests. */
  get(accountId: string, eventId: string): Promise<EventRecord | undefined>;
  /**
   * Forgets events received before `cutoff` (ISO). Their delivery histories are gone from Temporal
   * after the namespace retention too, so the dedupe window and the audit log end together.
   */
  pruneBefore(cutoff: string): Promise<number>;
}

export function createEventStore(deps: { db: Kysely<Database> }): EventStore {
  const { db } = deps;
  async function get(accountId: string, eventId: string): Promise<EventRecord | undefined> {
    const row = await db.selectFrom('events').selectAll().where('account_id', '=', accountId).where('event_id', '=', eventId).executeTakeFirst();
    return row && { event_id: row.event_id, type: row.type, received_at: row.received_at, deliveries: JSON.parse(row.deliveries) as DeliveryRef[] };
  }
  return {
    async pruneBefore(cutoff) {
      const res = await db.deleteFrom('events').where('received_at', '<', cutoff).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
    async claim(accountId, record) {
      await db
        .insertInto('events')
        .values({
          account_id: accountId,
          event_id: record.event_id,
          type: record.type,
          received_at: record.received_at,
          deliveries: JSON.stringify(record.deliveries),
        })
        .onConflict((oc) => oc.doNothing())
        .execute();
      const won = await get(accountId, record.event_id);
      if (!won) throw new Error(`event ${record.event_id} was pruned while it was claimed`);
      return won;
    },
    get,
  };
}
