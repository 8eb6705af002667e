import type { EventStore } from '../store/events.ts';

const PRUNE_EVERY_MS = 60 * 60 * 1000;

export interface PruneJob {
  /** The run started with the job; it never rejects. */
  first: Promise<void>;
  /** Stops the schedule and waits for a run in progress, so the store can close after it. */
  stop(): Promise<void>;
}

/**
 * Hourly, the worker forgets event ids older than the retention (EventStore.pruneBefore, by the
 * received_at index). A background job of the worker role: the API answers requests and nothing else.
 */
export function startEventPrune(deps: {
  events: EventStore;
  retentionDays: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  everyMs?: number;
  now?: () => number;
}): PruneJob {
  const now = deps.now ?? Date.now;
  const prune = async () => {
    const cutoff = new Date(now() - deps.retentionDays * 86_400_000).toISOString();
    try {
      const removed = await deps.events.pruneBefore(cutoff);
      if (removed > 0) deps.log.info({ removed, cutoff }, 'pruned event ids past the retention');
    } catch (err) {
      deps.log.warn({ err }, 'pruning old event ids failed; will try again');
    }
  };
  let running = prune();
  const first = running;
  const timer = setInterval(() => {
    running = running.then(prune);
  }, deps.everyMs ?? PRUNE_EVERY_MS);
  timer.unref();
  return {
    first,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
