import { schedule, type PeriodicJob } from '../periodic-job.ts';
import type { EventStore } from '../store/events.ts';
import type { MessageStore } from '../store/messages.ts';

const PRUNE_EVERY_MS = 60 * 60 * 1000;
/** Pull streams are pruned more often: their retention is counted in hours. */
const STREAM_PRUNE_EVERY_MS = 5 * 60 * 1000;

export type PruneJob = PeriodicJob;

type Log = { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };

/**
 * Hourly, the worker forgets event ids older than the retention (EventStore.pruneBefore, by the
 * received_at index). A background job of the worker role: the API answers requests and nothing else.
 */
export function startEventPrune(deps: { events: EventStore; retentionDays: number; log: Log; everyMs?: number; now?: () => number }): PruneJob {
  const now = deps.now ?? Date.now;
  return schedule(async () => {
    const cutoff = new Date(now() - deps.retentionDays * 86_400_000).toISOString();
    try {
      const removed = await deps.events.pruneBefore(cutoff);
      if (removed > 0) deps.log.info({ removed, cutoff }, 'pruned event ids past the retention');
    } catch (err) {
      deps.log.warn({ err }, 'pruning old event ids failed; will try again');
    }
  }, deps.everyMs ?? PRUNE_EVERY_MS);
}

/** Every few minutes, the worker removes pull messages past their account's retention (MessageStore.prune). */
export function startStreamPrune(deps: { messages: Pick<MessageStore, 'prune'>; defaultHours: number; log: Log; everyMs?: number; now?: () => number }): PruneJob {
  const now = deps.now ?? Date.now;
  return schedule(async () => {
    try {
      const removed = await deps.messages.prune(now(), deps.defaultHours);
      if (removed > 0) deps.log.info({ removed }, 'pruned pull messages past their retention');
    } catch (err) {
      deps.log.warn({ err }, 'pruning old pull messages failed; will try again');
    }
  }, deps.everyMs ?? STREAM_PRUNE_EVERY_MS);
}
