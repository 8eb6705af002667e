import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { slotSignal } from '../../workflows/gate-signals.ts';
import type { DestinationSlotStore, Handed, SlotRequest } from '../store/destination-slots.ts';

/** How often the worker hands over slots whose lease expired (a crashed attempt) or whose signal was lost. */
export const SWEEP_INTERVAL_MS = 2_000;

export interface SlotGuard {
  /** Takes one of the destination's slots for the attempt, or lists the delivery as a waiter (false: over the bound, `max`). */
  acquire(req: Omit<SlotRequest, 'accountMax' | 'nowMs'>): Promise<{ granted: true } | { granted: false; max: number }>;
  /** The attempt ended: its slot goes to the oldest waiter, whose workflow is signalled. */
  release(destinationId: string, deliveryId: string): Promise<void>;
  /** The worker role's sweeper: expired leases and lost hand-overs reach the oldest waiters. */
  startSweeper(intervalMs?: number): { stop(): Promise<void> };
}

export interface SlotGuardDeps {
  slots: DestinationSlotStore;
  client: Client;
  /** VOICEOI_ACCOUNT_MAX_IN_FLIGHT: one account's attempts in flight across its destinations. */
  accountMax?: number;
  onError(err: unknown, what: string): void;
}

/** The worker's side of max_in_flight: the store counts (src/store/destination-slots.ts), this tells the waiting workflows. */
export function createSlotGuard(deps: SlotGuardDeps): SlotGuard {
  const { slots, client, accountMax } = deps;

  // A handed slot whose delivery no longer runs (cancelled, ended) goes on to the next waiter.
  async function notify(handed: Handed[]): Promise<void> {
    let queue = handed;
    while (queue.length > 0) {
      const next: Handed[] = [];
      for (const h of queue) {
        try {
          await client.workflow.getHandle(h.deliveryId).signal(slotSignal);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) next.push(...(await slots.drop(h.destinationId, h.deliveryId, { accountMax })));
          // Temporal unreachable: the waiter's own re-check and the lease's expiry cover it.
          else deps.onError(err, 'could not tell a waiting delivery its slot is free');
        }
      }
      queue = next;
    }
  }

  return {
    async acquire(req) {
      const answer = await slots.acquire({ ...req, accountMax });
      if (answer.handed.length > 0) await notify(answer.handed);
      return answer.granted ? { granted: true } : { granted: false, max: answer.max };
    },
    async release(destinationId, deliveryId) {
      try {
        await notify(await slots.release(destinationId, deliveryId, { accountMax }));
      } catch (err) {
        // The lease expires on its own and the sweeper hands it over; the attempt's outcome stands.
        deps.onError(err, 'could not release a slot at a destination');
      }
    },
    startSweeper(intervalMs = SWEEP_INTERVAL_MS) {
      let stopped = false;
      let running: Promise<void> = Promise.resolve();
      const timer = setInterval(() => {
        running = running.then(async () => {
          if (stopped) return;
          try {
            await notify(await slots.sweep({ accountMax }));
          } catch (err) {
            deps.onError(err, 'could not sweep the destination slots');
          }
        });
      }, intervalMs);
      timer.unref();
      return {
        async stop() {
          stopped = true;
          clearInterval(timer);
          await running;
        },
      };
    },
  };
}
