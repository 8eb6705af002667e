import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** A quota as the operator states it: events per second, and how many may come at once. 0 events/s: none. */
export interface IngestQuota {
  rate_per_s: number;
  burst: number;
}

/** The same quota as the store applies it (GCRA): µs between events, and how far ahead an account may run. */
export interface QuotaPace {
  intervalUs: number;
  toleranceUs: number;
}

export const paceOf = (q: IngestQuota): QuotaPace => {
  const intervalUs = q.rate_per_s > 0 ? Math.max(1, Math.round(1e6 / q.rate_per_s)) : 0;
  return { intervalUs, toleranceUs: intervalUs * q.burst };
};

export type QuotaTake = { admitted: true } | { admitted: false; retryAfterMs: number };

/**
 * Per-account ingest quotas, in the database so that every API replica spends the same allowance
 * (src/ingest-quota.ts keeps the rules). The generic cell rate algorithm: each account has one
 * number, the theoretical arrival time of its next event (`tat`); n events move it n intervals on
 * from max(tat, now), and are admitted when that lands no further than the tolerance ahead of now.
 */
export interface IngestQuotaStore {
  /** Spends `events` of the account's allowance, or says when it could be spent; `defaults` when it has no override. */
  take(accountId: string, events: number, defaults: QuotaPace, nowMs?: number): Promise<QuotaTake>;
  /** The account's override; undefined: the install default applies. */
  get(accountId: string): Promise<IngestQuota | undefined>;
  /** Sets (or with null, removes) the account's override; its spent allowance carries over. */
  set(accountId: string, quota: IngestQuota | null): Promise<void>;
}

export function createIngestQuotaStore(deps: { db: Kysely<Database> }): IngestQuotaStore {
  const { db } = deps;
  return {
    async take(accountId, events, defaults, nowMs = Date.now()) {
      const now = Math.round(nowMs * 1000);
      const n = Math.max(1, Math.round(events));
      const interval = sql<number>`coalesce(ingest_quotas.interval_us, ${defaults.intervalUs})`;
      const tolerance = sql<number>`coalesce(ingest_quotas.tolerance_us, ${defaults.toleranceUs})`;
      const next = sql<number>`(case when ingest_quotas.tat_us > ${now} then ingest_quotas.tat_us else ${now} end) + ${n} * ${interval}`;
      const fits = sql<boolean>`${next} - ${now} <= ${tolerance}`;
      // A first take, with no row yet, is judged by the defaults.
      const firstNext = now + n * defaults.intervalUs;
      const firstFits = firstNext - now <= defaults.toleranceUs;
      // One statement, so two replicas spending at once both spend (the row is locked by the upsert).
      const row = await db
        .insertInto('ingest_quotas')
        .values({ account_id: accountId, tat_us: firstFits ? firstNext : now, retry_at_us: firstFits ? 0 : firstNext - defaults.toleranceUs })
        .onConflict((oc) =>
          oc.column('account_id').doUpdateSet({
            tat_us: sql<number>`case when ${fits} then ${next} else ingest_quotas.tat_us end`,
            retry_at_us: sql<number>`case when ${fits} then 0 else ${next} - ${tolerance} end`,
          }),
        )
        .returning('retry_at_us')
        .executeTakeFirstOrThrow();
      const retryAt = Number(row.retry_at_us);
      return retryAt === 0 ? { admitted: true } : { admitted: false, retryAfterMs: Math.max(1, Math.ceil((retryAt - now) / 1000)) };
    },
    async get(accountId) {
      const row = await db.selectFrom('ingest_quotas').select(['rate_per_s', 'burst']).where('account_id', '=', accountId).executeTakeFirst();
      return row && row.rate_per_s !== null && row.burst !== null ? { rate_per_s: Number(row.rate_per_s), burst: Number(row.burst) } : undefined;
    },
    async set(accountId, quota) {
      const pace = quota ? paceOf(quota) : undefined;
      const values = {
        rate_per_s: quota?.rate_per_s ?? null,
        burst: quota?.burst ?? null,
        interval_us: pace?.intervalUs ?? null,
        tolerance_us: pace?.toleranceUs ?? null,
      };
      await db
        .insertInto('ingest_quotas')
        .values({ account_id: accountId, ...values, tat_us: 0, retry_at_us: 0 })
        .onConflict((oc) => oc.column('account_id').doUpdateSet(values))
        .execute();
    },
  };
}
