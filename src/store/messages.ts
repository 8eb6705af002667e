import { sql, type Kysely, type Selectable } from 'kysely';
import type { CallSeal } from '../erasure/call-seal.ts';
import { nowIso } from '../ids.ts';
import type { MessageWakeups } from './message-wakeups.ts';
import type { Database, StreamMessagesTable } from './schema.ts';

/** The Standard Webhooks headers a consumer verifies the body with. */
export interface MessageHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** One delivery to a pull destination, as the stream and the messages endpoint answer it (DESIGN.md). */
export interface StreamMessage {
  cursor: string;
  delivery_id: string;
  event_id: string;
  event_type: string;
  call_id?: string;
  headers: MessageHeaders;
  /** The request body exactly as signed. */
  body: string;
}

export interface NewMessage {
  accountId: string;
  destinationId: string;
  deliveryId: string;
  eventId: string;
  eventType: string;
  callId?: string;
  headers: MessageHeaders;
  body: string;
}

export interface Ack {
  cursor: string;
  status: number;
  duration_ms: number;
  consumer: string | null;
  acked_at: string;
}

/** A read of a stream: `next` is the last cursor read, past messages of erased calls too (never served, never stalling a reader). */
export interface MessagePage {
  items: StreamMessage[];
  next: string;
  /** Rows read, served or not: `limit` of them means more may follow. */
  scanned: number;
}

/** Where a stream stands: the last cursor given, and the last one retention removed ("0": none). */
export interface StreamPosition {
  last: string;
  prunedThrough: string;
}

/** A consumer may report the same message several times (redeliveries after a drop); each is kept, up to this many. */
const MAX_ACKS_PER_MESSAGE = 20;

export interface MessageStore {
  /**
   * Appends the delivery's message to its destination's stream, once: a retried attempt gets the
   * message its delivery already made (`created: false`). Cursors of one destination are committed in
   * increasing order, so a reader that saw cursor n has seen every cursor below it. Wakes the stream's readers.
   */
  append(message: NewMessage): Promise<{ message: StreamMessage; created: boolean }>;
  /** Messages after `after` (a cursor, "0" for the start), oldest first; those of an erased call left out. */
  after(destinationId: string, after: string, limit: number): Promise<StreamMessage[]>;
  /** As `after`, with the cursor to read on from (past the left-out messages too). */
  page(destinationId: string, after: string, limit: number): Promise<MessagePage>;
  /** Removes the messages of these deliveries (an erased call's), with their acks. */
  removeDeliveries(deliveryIds: readonly string[]): Promise<number>;
  position(destinationId: string): Promise<StreamPosition>;
  /** The oldest message still kept, for a cursor retention has passed. */
  oldest(destinationId: string): Promise<string | undefined>;
  /** Records a consumer's answer to a message; false when the message is not in this destination's stream. */
  ack(destinationId: string, cursor: string, ack: Omit<Ack, 'cursor' | 'acked_at'>): Promise<'recorded' | 'not_found' | 'too_many'>;
  acksOf(deliveryId: string): Promise<Ack[]>;
  /**
   * Removes messages older than their account's retention (`defaultHours` when the account sets
   * none), remembering per stream the last cursor removed, so a consumer behind it is told.
   */
  prune(nowMs: number, defaultHours: number): Promise<number>;
  /** Takes one of the account's `max` stream places until `expiresMs`; false when all are taken. */
  lease(accountId: string, leaseId: string, max: number, nowMs: number, expiresMs: number): Promise<boolean>;
  renewLease(leaseId: string, expiresMs: number): Promise<void>;
  releaseLease(leaseId: string): Promise<void>;
}

const CURSOR = /^(0|[1-9]\d{0,14})$/;

/** A cursor's sequence number, or undefined when it is not a cursor this API gave (tenant input). */
export const parseCursor = (cursor: string): number | undefined => (CURSOR.test(cursor) ? Number(cursor) : undefined);

const toMessage = (row: Selectable<StreamMessagesTable>, body: string = row.body): StreamMessage => ({
  cursor: String(row.seq),
  delivery_id: row.delivery_id,
  event_id: row.event_id,
  event_type: row.event_type,
  ...(row.call_id !== null ? { call_id: row.call_id } : {}),
  headers: JSON.parse(row.headers) as MessageHeaders,
  body,
});

/** The record a sealed body is bound to: a body cannot be moved to another message. */
const sealedAs = (deliveryId: string) => `message:${deliveryId}`;

/**
 * `seal`: a message of a call is the call's data, so its body is stored sealed under the call's key
 * (src/erasure/call-seal.ts) and is unreadable, hence never served, once the call is erased.
 */
export function createMessageStore(deps: { db: Kysely<Database>; wakeups: MessageWakeups; seal: CallSeal }): MessageStore {
  const { db, wakeups, seal } = deps;
  /** The message with its body opened; undefined once its call was erased. */
  const open = async (row: Selectable<StreamMessagesTable>): Promise<StreamMessage | undefined> => {
    if (row.call_id === null) return toMessage(row);
    const body = await seal.open(row.body, sealedAs(row.delivery_id));
    return body && toMessage(row, body.toString('utf8'));
  };
  const page = async (destinationId: string, after: string, limit: number): Promise<MessagePage> => {
    const rows = await db
      .selectFrom('stream_messages')
      .selectAll()
      .where('destination_id', '=', destinationId)
      .where('seq', '>', parseCursor(after) ?? 0)
      .orderBy('seq')
      .limit(limit)
      .execute();
    const items: StreamMessage[] = [];
    for (const row of rows) {
      const m = await open(row);
      if (m) items.push(m);
    }
    return { items, next: rows.length > 0 ? String(rows.at(-1)!.seq) : after, scanned: rows.length };
  };
  const retentionMs = (defaultHours: number) =>
    // bigint throughout: PostgreSQL would type the parameters integer, and epoch ms overflow it.
    sql<number>`coalesce((select a.stream_retention_hours from accounts a where a.id = stream_messages.account_id), ${defaultHours}) * cast(3600000 as bigint)`;
  return {
    async append(m) {
      // Sealed before the transaction: the call's key is read (or made) through the store's own connection.
      const body = m.callId !== undefined ? await seal.seal(m.accountId, m.callId, m.body, sealedAs(m.deliveryId)) : m.body;
      const appended = await db.transaction().execute(async (trx) => {
        await trx.insertInto('stream_heads').values({ destination_id: m.destinationId, last_seq: 0, pruned_through: 0 }).onConflict((oc) => oc.doNothing()).execute();
        // Held until commit: appends to one destination commit one after another, in cursor order.
        const head = await trx.selectFrom('stream_heads').select('last_seq').where('destination_id', '=', m.destinationId).forUpdate().executeTakeFirstOrThrow();
        const existing = await trx
          .selectFrom('stream_messages')
          .selectAll()
          .where('destination_id', '=', m.destinationId)
          .where('delivery_id', '=', m.deliveryId)
          .executeTakeFirst();
        if (existing) return { existing, created: false as const };
        const row = {
          destination_id: m.destinationId,
          seq: Number(head.last_seq) + 1,
          account_id: m.accountId,
          delivery_id: m.deliveryId,
          event_id: m.eventId,
          event_type: m.eventType,
          call_id: m.callId ?? null,
          headers: JSON.stringify(m.headers),
          body,
          created_ms: Date.now(),
        };
        await trx.insertInto('stream_messages').values(row).execute();
        await trx.updateTable('stream_heads').set({ last_seq: row.seq }).where('destination_id', '=', m.destinationId).execute();
        return { message: toMessage(row, m.body), created: true as const };
      });
      // After the commit (a reader woken earlier would not see it). A retry wakes them again: harmless.
      await wakeups.publish(m.destinationId, 'appended');
      if (appended.created) return appended;
      // The body this delivery signs is the same on every attempt: the one given is the one stored.
      return { message: toMessage(appended.existing, m.body), created: false };
    },
    async after(destinationId, after, limit) {
      return (await page(destinationId, after, limit)).items;
    },
    page,
    async removeDeliveries(deliveryIds) {
      if (deliveryIds.length === 0) return 0;
      return db.transaction().execute(async (trx) => {
        await trx.deleteFrom('stream_acks').where('delivery_id', 'in', deliveryIds).execute();
        const res = await trx.deleteFrom('stream_messages').where('delivery_id', 'in', deliveryIds).executeTakeFirst();
        return Number(res.numDeletedRows);
      });
    },
    async position(destinationId) {
      const row = await db.selectFrom('stream_heads').select(['last_seq', 'pruned_through']).where('destination_id', '=', destinationId).executeTakeFirst();
      return { last: String(row?.last_seq ?? 0), prunedThrough: String(row?.pruned_through ?? 0) };
    },
    async oldest(destinationId) {
      const row = await db
        .selectFrom('stream_messages')
        .select('seq')
        .where('destination_id', '=', destinationId)
        .orderBy('seq')
        .limit(1)
        .executeTakeFirst();
      return row && String(row.seq);
    },
    async ack(destinationId, cursor, ack) {
      const seq = parseCursor(cursor);
      if (seq === undefined) return 'not_found';
      const message = await db
        .selectFrom('stream_messages')
        .select(['delivery_id'])
        .where('destination_id', '=', destinationId)
        .where('seq', '=', seq)
        .executeTakeFirst();
      if (!message) return 'not_found';
      const count = await db
        .selectFrom('stream_acks')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('destination_id', '=', destinationId)
        .where('seq', '=', seq)
        .executeTakeFirstOrThrow();
      if (Number(count.n) >= MAX_ACKS_PER_MESSAGE) return 'too_many';
      await db
        .insertInto('stream_acks')
        .values({ destination_id: destinationId, seq, delivery_id: message.delivery_id, ...ack, acked_at: nowIso() })
        .execute();
      return 'recorded';
    },
    async acksOf(deliveryId) {
      const rows = await db.selectFrom('stream_acks').selectAll().where('delivery_id', '=', deliveryId).orderBy('acked_at').execute();
      return rows.map((r) => ({ cursor: String(r.seq), status: r.status, duration_ms: r.duration_ms, consumer: r.consumer, acked_at: r.acked_at }));
    },
    async prune(nowMs, defaultHours) {
      const expired = sql<boolean>`stream_messages.created_ms < cast(${nowMs} as bigint) - ${retentionMs(defaultHours)}`;
      return db.transaction().execute(async (trx) => {
        // The last cursor removed per stream first, so a consumer behind it is answered 410, not skipped ahead.
        await trx
          .updateTable('stream_heads')
          .set({
            pruned_through: sql`(select max(stream_messages.seq) from stream_messages where stream_messages.destination_id = stream_heads.destination_id and ${expired})`,
          })
          .where(sql<boolean>`exists (select 1 from stream_messages where stream_messages.destination_id = stream_heads.destination_id and ${expired})`)
          .execute();
        await trx
          .deleteFrom('stream_acks')
          .where(
            sql<boolean>`exists (select 1 from stream_messages where stream_messages.destination_id = stream_acks.destination_id and stream_messages.seq = stream_acks.seq and ${expired})`,
          )
          .execute();
        const res = await trx.deleteFrom('stream_messages').where(expired).executeTakeFirst();
        await trx.deleteFrom('stream_leases').where('expires_ms', '<', nowMs).execute();
        return Number(res.numDeletedRows);
      });
    },
    async lease(accountId, leaseId, max, nowMs, expiresMs) {
      return db.transaction().execute(async (trx) => {
        // The account row is the lock: two replicas opening its last place at once take turns.
        const account = await trx.selectFrom('accounts').select('id').where('id', '=', accountId).forUpdate().executeTakeFirst();
        if (!account) return false;
        const open = await trx
          .selectFrom('stream_leases')
          .select((eb) => eb.fn.countAll<string | number>().as('n'))
          .where('account_id', '=', accountId)
          .where('expires_ms', '>', nowMs)
          .executeTakeFirstOrThrow();
        if (Number(open.n) >= max) return false;
        await trx.insertInto('stream_leases').values({ id: leaseId, account_id: accountId, expires_ms: expiresMs }).execute();
        return true;
      });
    },
    async renewLease(leaseId, expiresMs) {
      await db.updateTable('stream_leases').set({ expires_ms: expiresMs }).where('id', '=', leaseId).execute();
    },
    async releaseLease(leaseId) {
      await db.deleteFrom('stream_leases').where('id', '=', leaseId).execute();
    },
  };
}
