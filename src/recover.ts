import type { DeliveryState } from '../workflows/types.ts';
import type { Client } from '@temporalio/client';
import { ENDED_WITHOUT_RESULT_QUERY, type DeliveryService, type DeliverySummary } from './deliveries.ts';
import { AppError, notFound } from './errors.ts';
import type { Store } from './store/index.ts';
import { SA } from './temporal/search-attributes.ts';
import { literal, startedSince } from './temporal/visibility-query.ts';

/** Replays per call; a caller with more to recover calls again (recovered deliveries are no longer failed). */
export const RECOVER_BATCH = 1000;
const CONCURRENCY = 16;

export interface RecoverResult {
  recovered: number;
  deliveries: string[];
  /** More failed deliveries than one batch: call recover again with the same `since`. */
  more: boolean;
}

/**
 * `POST /v1/destinations/:id/recover {since}`: replays every delivery of the destination started since
 * `since` whose newest run failed (or ended without a result: terminated, timed out, a failed
 * workflow), plus those cancelled because the destination was disabled (the
 * usual story: it failed for days, got disabled, was fixed and re-enabled). Deliveries cancelled on
 * request stay cancelled.
 */
export async function recoverDestination(
  deps: { client: Client; store: Store; deliveries: DeliveryService },
  accountId: string,
  destinationId: string,
  since: string,
): Promise<RecoverResult> {
  const destination = await deps.store.destinations.get(accountId, destinationId);
  if (!destination) throw notFound('destination', destinationId);
  if (!destination.enabled) {
    throw new AppError(409, 'destination_disabled', `Destination '${destinationId}' is disabled (${destination.disabled_reason ?? 'by request'}); enable it first`);
  }
  const { internal } = deps.deliveries;
  const query = [
    `${SA.account.name} = ${literal(accountId, 'account')}`,
    `${SA.destination.name} = ${literal(destinationId, 'destination_id')}`,
    // A run that ended without a result (crashed workflow, terminated) never set a final status.
    `(${SA.status.name} IN ('failed', 'cancelled') OR ${ENDED_WITHOUT_RESULT_QUERY})`,
    `ExecutionStatus != 'Running'`,
    startedSince(since),
  ].join(' AND ');

  const candidates: DeliverySummary[] = [];
  let token: Uint8Array | undefined;
  let more = false;
  do {
    const page = await internal.list(query, 500, token);
    const latest = await internal.latestOnly(accountId, page.items);
    for (const item of latest) if (!candidates.some((c) => c.id === item.id)) candidates.push(item);
    token = page.next;
    if (candidates.length > RECOVER_BATCH) {
      more = true;
      break;
    }
  } while (token);

  const recovered: string[] = [];
  const queue = candidates.slice(0, RECOVER_BATCH);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        const previous = await internal.describeOwned(accountId, item.id);
        // Visibility lags: re-check the newest run itself before replaying it.
        if (previous.runId !== item.run_id || previous.status.name === 'RUNNING') continue;
        if (item.status === 'cancelled') {
          const state = (await deps.client.workflow
            .getHandle(item.id, item.run_id, { followRuns: false })
            .result()
            .catch(() => undefined)) as DeliveryState | undefined;
          if (state?.attempts.at(-1)?.error?.code !== 'destination_disabled') continue;
        }
        await internal.replay(destination, previous);
        recovered.push(item.id);
      }
    }),
  );
  return { recovered: recovered.length, deliveries: recovered.sort(), more };
}
