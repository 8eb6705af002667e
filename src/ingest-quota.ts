import type { Config } from './config.ts';
import { AppError } from './errors.ts';
import { paceOf, type IngestQuotaStore } from './store/ingest-quotas.ts';

/**
 * The per-account ingest quota (issue 19): the last line against one account's burst taking the
 * workers from the others. Counted in the store (src/store/ingest-quotas.ts), so it holds across API
 * replicas; read per request, so an admin's change holds at once. A batch spends one unit per event.
 */
export interface IngestQuotaGuard {
  /** Spends `events` of the account's allowance, or throws 429 ingest_quota_exceeded with when to come back. */
  admit(accountId: string, events: number): Promise<void>;
}

export function createIngestQuotaGuard(config: Pick<Config, 'VOICEOI_INGEST_RATE_PER_S' | 'VOICEOI_INGEST_BURST'>, quotas: IngestQuotaStore): IngestQuotaGuard {
  const defaults = paceOf({ rate_per_s: config.VOICEOI_INGEST_RATE_PER_S, burst: config.VOICEOI_INGEST_BURST });
  return {
    async admit(accountId, events) {
      const taken = await quotas.take(accountId, events, defaults);
      if (taken.admitted) return;
      const retryAfterS = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
      throw new AppError(
        429,
        'ingest_quota_exceeded',
        `Not accepted: account '${accountId}' is over its ingest quota (${events} event${events === 1 ? '' : 's'} in this request). Send ${events === 1 ? 'it' : 'them'} again in ${retryAfterS} s`,
        { retry_after_s: retryAfterS },
      );
    },
  };
}
