import { schedule, type PeriodicJob } from '../periodic-job.ts';
import type { CallStore } from '../store/calls.ts';
import type { ErasureService } from './erase.ts';

const EVERY_MS = 10 * 60 * 1000;
/** Calls shredded per round: a backlog (a retention just shortened) is worked off over rounds. */
const PER_ROUND = 200;

export type CallRetentionJob = PeriodicJob;

/**
 * The worker role's shredder: finishes erasures a crash interrupted, then erases every call whose
 * key is older than its account's `data_retention_days` (else the install's VOICEOI_DATA_RETENTION_DAYS),
 * with the same effect as POST /v1/calls/:call_id/erase. The store decides, so replicas agree;
 * two workers erasing the same call at once each finish it (every step is idempotent).
 */
export function startCallRetention(deps: {
  calls: Pick<CallStore, 'expiredCalls'>;
  erasure: ErasureService;
  defaultDays: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  everyMs?: number;
  now?: () => number;
}): CallRetentionJob {
  const now = deps.now ?? Date.now;
  const round = async () => {
    try {
      await deps.erasure.resumePending();
      const expired = await deps.calls.expiredCalls(now(), deps.defaultDays, PER_ROUND);
      let deliveries = 0;
      for (const c of expired) deliveries += (await deps.erasure.erase(c.account_id, c.call_id, 'retention')).deliveries;
      if (expired.length > 0) deps.log.info({ calls: expired.length, deliveries }, `shredded ${expired.length} calls past their data retention`);
    } catch (err) {
      deps.log.warn({ err }, 'shredding calls past their data retention failed; will try again');
    }
  };
  return schedule(round, deps.everyMs ?? EVERY_MS);
}
