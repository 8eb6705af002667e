import { sql, type Kysely, type Transaction } from 'kysely';
import { attemptTimeoutMs } from '../../workflows/attempt-limits.ts';
import type { DialectName } from './db.ts';
import type { Database } from './schema.ts';

/**
 * A handed-over slot waits this long, beyond the attempt's own bound, for its delivery to come and
 * take it (signal, workflow task, activity start); past it the slot goes to the next waiter.
 */
export const HANDOFF_MS = 30_000;

/** Who asks for a slot: one attempt of one delivery (a delivery has at most one attempt in flight). */
export interface SlotRequest {
  destinationId: string;
  deliveryId: string;
  accountId: string;
  /** The delivery's acceptance time (ISO): waiters are served oldest first, then by delivery id. */
  acceptedAt: string;
  /** The destination's max_in_flight as the attempt read it (the config cache revalidates it per attempt). */
  max: number;
  /** How long the slot is the attempt's before it counts as free again: its own time bound (attemptTimeoutMs). */
  leaseMs: number;
  /** The operator's bound on one account's attempts in flight across its destinations; undefined: none. */
  accountMax?: number;
  nowMs?: number;
}

export type SlotAnswer =
  /** `handed`: deliveries that were waiting and now hold a slot (to be signalled). */
  | { granted: true; handed: Handed[] }
  | { granted: false; max: number; inFlight: number; handed: Handed[] };

/** A slot given to a waiting delivery: its workflow is to be told. */
export interface Handed {
  destinationId: string;
  deliveryId: string;
}

/**
 * The attempts in flight per destination (`max_in_flight`), counted in the shared store so the bound
 * holds across every worker and replica: one lease row per attempt holding a slot, which stops counting
 * at its expiry (the attempt's own time bound plus a margin), so a crashed worker's slot comes back.
 * Deliveries over the bound are listed as waiters; a freed slot goes to the oldest of them, in the same
 * transaction, and the caller signals that delivery's workflow. Every change to one destination's slots
 * runs under its destination row's lock (SQLite: the write lock), so two workers never both take the last slot.
 */
export interface DestinationSlotStore {
  /** Takes a slot for the attempt, or lists the delivery as a waiter. A slot handed to it earlier is taken at once. */
  acquire(req: SlotRequest): Promise<SlotAnswer>;
  /** The attempt ended: frees its slot and hands free slots to the oldest waiters. */
  release(destinationId: string, deliveryId: string, opts?: { accountMax?: number; nowMs?: number }): Promise<Handed[]>;
  /** A handed slot whose delivery no longer runs: freed and handed on. */
  drop(destinationId: string, deliveryId: string, opts?: { accountMax?: number; nowMs?: number }): Promise<Handed[]>;
  /** Every destination with waiters: free slots (expired leases, lost hand-overs) go to the oldest waiters. */
  sweep(opts?: { accountMax?: number; nowMs?: number }): Promise<Handed[]>;
  /** How many attempts hold a slot at the destination now (operators, tests). */
  inFlight(destinationId: string, nowMs?: number): Promise<number>;
  /** The waiting deliveries of the destination, oldest first. */
  waiting(destinationId: string): Promise<string[]>;
}

type Trx = Transaction<Database>;
const countOf = (row: { n: number | string | bigint } | undefined) => Number(row?.n ?? 0);

export function createDestinationSlotStore(deps: { db: Kysely<Database>; dialect: DialectName }): DestinationSlotStore {
  const { db } = deps;
  // SQLite runs one writer at a time, so one statement that counts and inserts is atomic there: the
  // common cases (a free slot and nobody waiting; a full destination) are one statement each, not a
  // transaction, which on SQLite holds the process's only connection across event-loop turns and so
  // would queue every other query of the process behind it under load. PostgreSQL counts under the
  // destination row's lock in a transaction (on a pooled connection of its own).
  const oneStatement = deps.dialect === 'sqlite';

  // Taking the destination row's lock first serialises every slot change of one destination.
  const lockDestination = (trx: Trx, destinationId: string) =>
    trx.selectFrom('destinations').select(['account_id', 'max_in_flight', 'timeout_ms', 'connection_id']).where('id', '=', destinationId).forUpdate().executeTakeFirst();

  const liveAt = (trx: Trx, destinationId: string, nowMs: number) =>
    trx.selectFrom('slot_leases').select((eb) => eb.fn.countAll().as('n')).where('destination_id', '=', destinationId).where('expires_ms', '>', nowMs).executeTakeFirst().then(countOf);
  const liveOfAccount = (trx: Trx, accountId: string, nowMs: number) =>
    trx.selectFrom('slot_leases').select((eb) => eb.fn.countAll().as('n')).where('account_id', '=', accountId).where('expires_ms', '>', nowMs).executeTakeFirst().then(countOf);

  /** Under the destination's lock: hands its free slots to its oldest waiters. */
  async function handOver(trx: Trx, destinationId: string, accountMax: number | undefined, nowMs: number): Promise<Handed[]> {
    const dest = await lockDestination(trx, destinationId);
    if (!dest) {
      // Deleted: its waiters' next attempt ends them (destination_deleted); nothing to hand.
      await trx.deleteFrom('slot_waiters').where('destination_id', '=', destinationId).execute();
      await trx.deleteFrom('slot_leases').where('destination_id', '=', destinationId).execute();
      return [];
    }
    // The common case on release: nobody waits here, so nothing to count (the sweep clears expired leases).
    const anyWaiter = await trx.selectFrom('slot_waiters').select('delivery_id').where('destination_id', '=', destinationId).limit(1).executeTakeFirst();
    if (!anyWaiter) return [];
    await trx.deleteFrom('slot_leases').where('destination_id', '=', destinationId).where('expires_ms', '<=', nowMs).execute();
    let free = dest.max_in_flight - (await liveAt(trx, destinationId, nowMs));
    if (accountMax !== undefined) free = Math.min(free, accountMax - (await liveOfAccount(trx, dest.account_id, nowMs)));
    if (free <= 0) return [];
    const next = await trx
      .selectFrom('slot_waiters')
      .select(['delivery_id', 'account_id'])
      .where('destination_id', '=', destinationId)
      .orderBy('accepted_at')
      .orderBy('delivery_id')
      .limit(free)
      .execute();
    if (next.length === 0) return [];
    const expires_ms = nowMs + attemptTimeoutMs(dest) + HANDOFF_MS;
    await trx
      .deleteFrom('slot_waiters')
      .where('destination_id', '=', destinationId)
      .where('delivery_id', 'in', next.map((w) => w.delivery_id))
      .execute();
    await trx
      .insertInto('slot_leases')
      .values(next.map((w) => ({ destination_id: destinationId, delivery_id: w.delivery_id, account_id: w.account_id, expires_ms })))
      .onConflict((oc) => oc.columns(['destination_id', 'delivery_id']).doUpdateSet({ expires_ms }))
      .execute();
    return next.map((w) => ({ destinationId, deliveryId: w.delivery_id }));
  }

  /** Frees one lease, then hands over at its destination and (the account's bound freed a slot too) at the account's other destinations with waiters. */
  async function free(destinationId: string, deliveryId: string, accountMax: number | undefined, nowMs: number): Promise<Handed[]> {
    if (oneStatement) {
      await db.deleteFrom('slot_leases').where('destination_id', '=', destinationId).where('delivery_id', '=', deliveryId).execute();
      // Nobody of the account waits (its destinations' waiters are its own): nothing to hand over.
      const waiter = await db
        .selectFrom('slot_waiters')
        .select('delivery_id')
        .where('account_id', '=', (eb) => eb.selectFrom('destinations').select('account_id').where('id', '=', destinationId))
        .limit(1)
        .executeTakeFirst();
      if (!waiter) return [];
    }
    const handed = await db.transaction().execute(async (trx) => {
      const dest = await lockDestination(trx, destinationId);
      await trx.deleteFrom('slot_leases').where('destination_id', '=', destinationId).where('delivery_id', '=', deliveryId).execute();
      return dest ? { account: dest.account_id, handed: await handOver(trx, destinationId, accountMax, nowMs) } : undefined;
    });
    if (!handed) return [];
    if (accountMax === undefined || handed.handed.length > 0) return handed.handed;
    const others = await db
      .selectFrom('slot_waiters')
      .select('destination_id')
      .distinct()
      .where('account_id', '=', handed.account)
      .where('destination_id', '!=', destinationId)
      .execute();
    for (const o of others) {
      const more = await db.transaction().execute((trx) => handOver(trx, o.destination_id, accountMax, nowMs));
      if (more.length > 0) return more;
    }
    return [];
  }

  return {
    async acquire(req) {
      const nowMs = req.nowMs ?? Date.now();
      if (oneStatement) {
        const expires = nowMs + req.leaseMs;
        const accountRoom =
          req.accountMax === undefined
            ? sql`1 = 1`
            : sql`(select count(*) from slot_leases where account_id = ${req.accountId} and expires_ms > ${nowMs}) < ${req.accountMax}`;
        const took = await sql`insert into slot_leases (destination_id, delivery_id, account_id, expires_ms)
          select ${req.destinationId}, ${req.deliveryId}, ${req.accountId}, ${expires}
          where (select count(*) from slot_leases where destination_id = ${req.destinationId} and expires_ms > ${nowMs}) < ${req.max}
            and not exists (select 1 from slot_waiters where destination_id = ${req.destinationId})
            and ${accountRoom}
          on conflict (destination_id, delivery_id) do update set expires_ms = excluded.expires_ms`.execute(db);
        if (Number(took.numAffectedRows ?? 0n) > 0) return { granted: true, handed: [] };
        const queued = await sql`insert into slot_waiters (destination_id, delivery_id, account_id, accepted_at)
          select ${req.destinationId}, ${req.deliveryId}, ${req.accountId}, ${req.acceptedAt}
          where (select count(*) from slot_leases where destination_id = ${req.destinationId} and expires_ms > ${nowMs}) >= ${req.max}
            and not exists (select 1 from slot_leases where destination_id = ${req.destinationId} and delivery_id = ${req.deliveryId})
          on conflict (destination_id, delivery_id) do nothing`.execute(db);
        if (Number(queued.numAffectedRows ?? 0n) > 0) return { granted: false, max: req.max, inFlight: req.max, handed: [] };
        // Otherwise: a slot handed to it, free slots while others wait, the account at its bound, or already listed.
      }
      return db.transaction().execute(async (trx) => {
        const dest = await lockDestination(trx, req.destinationId);
        // Gone meanwhile: the attempt finds out itself; it holds nothing here.
        if (!dest) return { granted: true, handed: [] };
        const expires_ms = nowMs + req.leaseMs;
        // Handed over while it waited (or a retry of this same attempt): the slot is its own.
        const own = await trx
          .updateTable('slot_leases')
          .set({ expires_ms })
          .where('destination_id', '=', req.destinationId)
          .where('delivery_id', '=', req.deliveryId)
          .executeTakeFirst();
        if (own.numUpdatedRows > 0n) return { granted: true, handed: [] };
        // New arrivals never overtake waiters: free slots go to the older ones first.
        let handed: Handed[] = [];
        const olderWaiting = async () =>
          (await trx
            .selectFrom('slot_waiters')
            .select('delivery_id')
            .where('destination_id', '=', req.destinationId)
            .where('delivery_id', '!=', req.deliveryId)
            .where((eb) => eb(eb.refTuple('accepted_at', 'delivery_id'), '<', eb.tuple(req.acceptedAt, req.deliveryId)))
            .limit(1)
            .executeTakeFirst()) !== undefined;
        let older = await olderWaiting();
        if (older) {
          // Free slots (an expired lease, a lost hand-over) go to the older waiters first.
          handed = await handOver(trx, req.destinationId, req.accountMax, nowMs);
          const mine = handed.some((h) => h.deliveryId === req.deliveryId);
          handed = handed.filter((h) => h.deliveryId !== req.deliveryId);
          if (mine) {
            await trx.updateTable('slot_leases').set({ expires_ms }).where('destination_id', '=', req.destinationId).where('delivery_id', '=', req.deliveryId).execute();
            return { granted: true, handed };
          }
          older = await olderWaiting();
        }
        const inFlight = await liveAt(trx, req.destinationId, nowMs);
        const accountFull = req.accountMax !== undefined && (await liveOfAccount(trx, dest.account_id, nowMs)) >= req.accountMax;
        if (inFlight < dest.max_in_flight && !accountFull && !older) {
          await trx.deleteFrom('slot_waiters').where('destination_id', '=', req.destinationId).where('delivery_id', '=', req.deliveryId).execute();
          await trx
            .insertInto('slot_leases')
            .values({ destination_id: req.destinationId, delivery_id: req.deliveryId, account_id: dest.account_id, expires_ms })
            .onConflict((oc) => oc.columns(['destination_id', 'delivery_id']).doUpdateSet({ expires_ms }))
            .execute();
          return { granted: true, handed };
        }
        await trx
          .insertInto('slot_waiters')
          .values({ destination_id: req.destinationId, delivery_id: req.deliveryId, account_id: dest.account_id, accepted_at: req.acceptedAt })
          .onConflict((oc) => oc.columns(['destination_id', 'delivery_id']).doNothing())
          .execute();
        return { granted: false, max: dest.max_in_flight, inFlight, handed };
      });
    },
    release: (destinationId, deliveryId, opts = {}) => free(destinationId, deliveryId, opts.accountMax, opts.nowMs ?? Date.now()),
    drop: (destinationId, deliveryId, opts = {}) => free(destinationId, deliveryId, opts.accountMax, opts.nowMs ?? Date.now()),
    async sweep(opts = {}) {
      const nowMs = opts.nowMs ?? Date.now();
      // Expired leases of destinations nobody waits for: they count for nothing, so they only take room.
      await db.deleteFrom('slot_leases').where('expires_ms', '<=', nowMs).execute();
      const dests = await db.selectFrom('slot_waiters').select('destination_id').distinct().execute();
      const handed: Handed[] = [];
      for (const d of dests) handed.push(...(await db.transaction().execute((trx) => handOver(trx, d.destination_id, opts.accountMax, nowMs))));
      return handed;
    },
    async inFlight(destinationId, nowMs = Date.now()) {
      return countOf(
        await db.selectFrom('slot_leases').select((eb) => eb.fn.countAll().as('n')).where('destination_id', '=', destinationId).where('expires_ms', '>', nowMs).executeTakeFirst(),
      );
    },
    async waiting(destinationId) {
      const rows = await db.selectFrom('slot_waiters').select('delivery_id').where('destination_id', '=', destinationId).orderBy('accepted_at').orderBy('delivery_id').execute();
      return rows.map((r) => r.delivery_id);
    },
  };
}
