import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { KeyRing } from '../crypto/keyring.ts';
import { newId, nowIso } from '../ids.ts';
import type { CallErasuresTable, Database } from './schema.ts';

/** What an erased delivery still says about itself: no event data, no bodies, no headers. */
export interface ErasedDeliverySummary {
  id: string;
  status: string;
  reason?: string;
  event_id: string;
  event_type: string;
  destination_id: string;
  accepted_at?: string;
  delivered_at?: string;
  failed_at?: string;
  cancelled_at?: string;
  next_attempt_at?: string;
  attempts: { n: number; started_at: string; duration_ms: number; finished_at?: string; verdict?: string; status?: number; error_code?: string }[];
}

export type ErasedDeliveryView = ErasedDeliverySummary & { erased: true };

export type ErasedBy = 'account' | 'admin' | 'retention';

export interface CallErasure {
  id: string;
  account_id: string;
  call_id: string;
  erased_at: string;
  erased_by: ErasedBy;
  key_ids: string[];
  deliveries: number;
  cancelled: number;
  completed_at: string | null;
}

export interface CallDelivery {
  delivery_id: string;
  account_id: string;
  call_id: string;
  key_id: string;
  erased: ErasedDeliverySummary | null;
}

export interface CallStore {
  /** The call's current data key id (created on first use); a key taken by an erasure is never handed out again. */
  keyFor(accountId: string, callId: string): Promise<string>;
  /** Records which key the delivery is encrypted under (the first record wins: a replay keeps its key). */
  recordDeliveries(accountId: string, callId: string, keyId: string, deliveryIds: readonly string[]): Promise<void>;
  /** The key a delivery (workflow id) is encrypted under, if it belongs to a call. */
  deliveryKeyId(deliveryId: string): Promise<string | undefined>;
  /** The unwrapped key; undefined once erased (deleted) or while an erasure holds it (`forEncryption`). */
  openKey(keyId: string, opts?: { forEncryption?: boolean }): Promise<Buffer | undefined>;
  delivery(accountId: string, deliveryId: string): Promise<CallDelivery | undefined>;
  deliveriesOf(accountId: string, callId: string): Promise<CallDelivery[]>;
  /** The summaries kept for those of `ids` that were erased. */
  erasedAmong(accountId: string, ids: readonly string[]): Promise<Map<string, ErasedDeliverySummary>>;
  /**
   * Marks every current key of the call as being erased and records the erasure (one transaction), so
   * that from here on nothing new is encrypted under them and no attempt of the call is sent.
   */
  beginErasure(accountId: string, callId: string, by: ErasedBy, at?: string): Promise<CallErasure>;
  /** Whether the delivery's key is erased or being erased: its attempts must not be sent. */
  isErased(deliveryId: string): Promise<boolean>;
  saveErasedSummary(deliveryId: string, summary: ErasedDeliverySummary): Promise<void>;
  /** Deletes the wrapped keys (the shredding itself) and closes the erasure. */
  completeErasure(erasure: CallErasure, counts: { deliveries: number; cancelled: number }): Promise<void>;
  pendingErasures(): Promise<CallErasure[]>;
  latestErasure(accountId: string, callId: string): Promise<CallErasure | undefined>;
  /** Calls whose oldest live key was created before the account's (or the install's) retention cutoff. */
  expiredCalls(now: number, defaultDays: number, limit: number): Promise<{ account_id: string; call_id: string }[]>;
}

const aad = (keyId: string) => `call_key:${keyId}`;

export function createCallStore(deps: { db: Kysely<Database>; keyRing: KeyRing }): CallStore {
  const { db, keyRing } = deps;
  const toErasure = (row: Selectable<CallErasuresTable>): CallErasure => ({
    ...row,
    erased_by: row.erased_by as ErasedBy,
    key_ids: JSON.parse(row.key_ids) as string[],
    deliveries: Number(row.deliveries),
    cancelled: Number(row.cancelled),
  });
  const toDelivery = (row: { delivery_id: string; account_id: string; call_id: string; key_id: string; erased_summary: string | null }): CallDelivery => ({
    delivery_id: row.delivery_id,
    account_id: row.account_id,
    call_id: row.call_id,
    key_id: row.key_id,
    erased: row.erased_summary ? (JSON.parse(row.erased_summary) as ErasedDeliverySummary) : null,
  });

  return {
    async keyFor(accountId, callId) {
      const live = await db
        .selectFrom('call_keys')
        .select('id')
        .where('account_id', '=', accountId)
        .where('call_id', '=', callId)
        .where('erasing_since', 'is', null)
        .orderBy('created_at')
        .executeTakeFirst();
      if (live) return live.id;
      // Two first events of a call at once may each create one: both keys belong to the call, and an
      // erasure takes every key of it.
      const id = newId('ck');
      await db
        .insertInto('call_keys')
        .values({ id, account_id: accountId, call_id: callId, wrapped_key: keyRing.encrypt(randomBytes(32), aad(id)), created_at: nowIso(), erasing_since: null })
        .execute();
      return id;
    },
    async recordDeliveries(accountId, callId, keyId, deliveryIds) {
      if (deliveryIds.length === 0) return;
      const created_at = nowIso();
      await db
        .insertInto('call_deliveries')
        .values(deliveryIds.map((delivery_id) => ({ delivery_id, account_id: accountId, call_id: callId, key_id: keyId, created_at, erased_summary: null })))
        .onConflict((oc) => oc.column('delivery_id').doNothing())
        .execute();
    },
    async deliveryKeyId(deliveryId) {
      const row = await db.selectFrom('call_deliveries').select('key_id').where('delivery_id', '=', deliveryId).executeTakeFirst();
      return row?.key_id;
    },
    async openKey(keyId, opts) {
      const row = await db.selectFrom('call_keys').select(['wrapped_key', 'erasing_since']).where('id', '=', keyId).executeTakeFirst();
      if (!row || (opts?.forEncryption && row.erasing_since !== null)) return undefined;
      const key = keyRing.decrypt(row.wrapped_key, aad(keyId));
      // Master key rotation: rewrapped under the current master key when next used, as the other secrets are.
      if (!keyRing.isCurrent(row.wrapped_key)) {
        await db.updateTable('call_keys').set({ wrapped_key: keyRing.encrypt(key, aad(keyId)) }).where('id', '=', keyId).execute();
      }
      return key;
    },
    async delivery(accountId, deliveryId) {
      const row = await db.selectFrom('call_deliveries').selectAll().where('account_id', '=', accountId).where('delivery_id', '=', deliveryId).executeTakeFirst();
      return row && toDelivery(row);
    },
    async deliveriesOf(accountId, callId) {
      const rows = await db.selectFrom('call_deliveries').selectAll().where('account_id', '=', accountId).where('call_id', '=', callId).orderBy('created_at').orderBy('delivery_id').execute();
      return rows.map(toDelivery);
    },
    async erasedAmong(accountId, ids) {
      if (ids.length === 0) return new Map();
      const rows = await db
        .selectFrom('call_deliveries')
        .select(['delivery_id', 'erased_summary'])
        .where('account_id', '=', accountId)
        .where('delivery_id', 'in', ids)
        .where('erased_summary', 'is not', null)
        .execute();
      return new Map(rows.map((r) => [r.delivery_id, JSON.parse(r.erased_summary!) as ErasedDeliverySummary]));
    },
    async beginErasure(accountId, callId, by, at = nowIso()) {
      return db.transaction().execute(async (trx) => {
        const keys = await trx.selectFrom('call_keys').select('id').where('account_id', '=', accountId).where('call_id', '=', callId).where('erasing_since', 'is', null).execute();
        const key_ids = keys.map((k) => k.id);
        if (key_ids.length) await trx.updateTable('call_keys').set({ erasing_since: at }).where('id', 'in', key_ids).execute();
        const erasure = { id: newId('era'), account_id: accountId, call_id: callId, erased_at: at, erased_by: by, key_ids: JSON.stringify(key_ids), completed_at: null };
        await trx.insertInto('call_erasures').values(erasure).execute();
        return { ...erasure, key_ids, deliveries: 0, cancelled: 0 };
      });
    },
    async isErased(deliveryId) {
      const row = await db
        .selectFrom('call_deliveries')
        .leftJoin('call_keys', 'call_keys.id', 'call_deliveries.key_id')
        .select(['call_keys.id as key', 'call_keys.erasing_since'])
        .where('call_deliveries.delivery_id', '=', deliveryId)
        .executeTakeFirst();
      return row !== undefined && (row.key === null || row.erasing_since !== null);
    },
    async saveErasedSummary(deliveryId, summary) {
      await db.updateTable('call_deliveries').set({ erased_summary: JSON.stringify(summary) }).where('delivery_id', '=', deliveryId).execute();
    },
    async completeErasure(erasure, counts) {
      await db.transaction().execute(async (trx) => {
        if (erasure.key_ids.length) {
          // Overwritten first, then deleted: a database that keeps deleted row images until vacuum
          // (SQLite free pages, PostgreSQL dead tuples) holds random bytes, not the wrapped key.
          await trx.updateTable('call_keys').set({ wrapped_key: randomBytes(60).toString('base64url') }).where('id', 'in', erasure.key_ids).execute();
          await trx.deleteFrom('call_keys').where('id', 'in', erasure.key_ids).execute();
        }
        await trx.updateTable('call_erasures').set({ completed_at: nowIso(), deliveries: counts.deliveries, cancelled: counts.cancelled }).where('id', '=', erasure.id).execute();
      });
    },
    async pendingErasures() {
      const rows = await db.selectFrom('call_erasures').selectAll().where('completed_at', 'is', null).orderBy('erased_at').execute();
      return rows.map(toErasure);
    },
    async latestErasure(accountId, callId) {
      const row = await db.selectFrom('call_erasures').selectAll().where('account_id', '=', accountId).where('call_id', '=', callId).orderBy('erased_at', 'desc').executeTakeFirst();
      return row && toErasure(row);
    },
    async expiredCalls(now, defaultDays, limit) {
      const rows = await db
        .selectFrom('call_keys')
        .innerJoin('accounts', 'accounts.id', 'call_keys.account_id')
        .select(['call_keys.account_id', 'call_keys.call_id', 'call_keys.created_at', 'accounts.data_retention_days'])
        .where('call_keys.erasing_since', 'is', null)
        // No retention is shorter than a day: younger keys need no look.
        .where('call_keys.created_at', '<', new Date(now - 86_400_000).toISOString())
        .orderBy('call_keys.created_at')
        .execute();
      const seen = new Set<string>();
      const out: { account_id: string; call_id: string }[] = [];
      for (const r of rows) {
        const days = r.data_retention_days ?? defaultDays;
        if (Date.parse(r.created_at) > now - days * 86_400_000) continue;
        const k = JSON.stringify([r.account_id, r.call_id]);
        if (seen.has(k)) continue;
        seen.add(k);
        out.push({ account_id: r.account_id, call_id: r.call_id });
        if (out.length >= limit) break;
      }
      return out;
    },
  };
}
