import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import type { deliveryWorkflow } from '../../workflows/delivery.ts';
import { eachAtMost } from '../concurrency.ts';
import { DomainError, unknownId } from '../errors.ts';
import type { IngestService } from '../ingest.ts';
import type { Destination } from '../store/destinations.ts';
import type { Store } from '../store/index.ts';
import { parseDeliveryId } from '../temporal/delivery-ids.ts';
import { SA } from '../temporal/search-attributes.ts';
import { literal, startedSince } from '../temporal/visibility-query.ts';
import { accountScope, ENDED_WITHOUT_RESULT_QUERY, type DeliveryQueries, type DeliverySummary } from './query.ts';
import type { RunReader } from './runs.ts';

export interface ReplayStarted {
  id: string;
  run_id: string;
  /** The run it replays. */
  replay_of: string;
}

/** Replays per call; a caller with more to recover calls again (recovered deliveries are no longer failed). */
export const RECOVER_BATCH = 1000;
const CONCURRENCY = 16;

export interface RecoverResult {
  recovered: number;
  deliveries: string[];
  /** More failed deliveries than one batch: call recover again with the same `since`. */
  more: boolean;
}

export interface Replays {
  /** A new run of the same workflow id: same event, same `webhook-id`, attempt numbers continuing. */
  retry(accountId: string, id: string): Promise<ReplayStarted>;
  /**
   * `POST /v1/destinations/:id/recover {since}`: replays every delivery of the destination started since
   * `since` whose newest run failed (or ended without a result: terminated, timed out, a failed
   * workflow), plus those cancelled because the destination was disabled (the
   * usual story: it failed for days, got disabled, was fixed and re-enabled). Deliveries cancelled on
   * request stay cancelled.
   */
  recover(accountId: string, destinationId: string, since: string): Promise<RecoverResult>;
}

/**
 * How long a retry or recover waits for a failed run to close. A delivery reads `failed` from the
 * workflow task that gives up, while its run stays open for the activity that emits
 * hook.delivery_failed; a replay of it must wait for that run to end (same workflow id).
 */
const CLOSING_WAIT_MS = 10_000;

/** Replaying into a disabled destination would only fail again. */
function requireEnabled(destination: Destination): void {
  if (!destination.enabled) {
    throw new DomainError('destination_disabled', `Destination '${destination.id}' is disabled (${destination.disabled_reason ?? 'by request'}); enable it first`);
  }
}

export function createReplays(deps: { client: Client; store: Store; ingest: IngestService; queries: DeliveryQueries; runs: RunReader }): Replays {
  const { client, store, queries } = deps;

  async function replay(destination: Destination, previous: WorkflowExecutionDescription): Promise<ReplayStarted> {
    const { input, attempts } = await deps.runs.previousRun(previous);
    // The original's pinned mapping version, so a replay sends what the original would have sent.
    const started = await deps.ingest.startDelivery(destination, input.event, input.acceptedAt, { replayOf: { previousAttempts: attempts }, mapping: input.mapping });
    // A replay already running (a concurrent retry) is the one to name.
    const runId = started ?? (await client.workflow.getHandle(previous.workflowId).describe()).runId;
    return { id: previous.workflowId, run_id: runId, replay_of: previous.runId };
  }

  /** The newest run of a delivery, once closed if it already reads failed (see CLOSING_WAIT_MS); still open past that, as it is. */
  async function closedRun(accountId: string, run: WorkflowExecutionDescription): Promise<WorkflowExecutionDescription> {
    if (run.status.name !== 'RUNNING' || run.typedSearchAttributes.get(SA.status) !== 'failed') return run;
    const signal = AbortSignal.timeout(CLOSING_WAIT_MS);
    await client
      .withAbortSignal(signal, () => client.workflow.getHandle(run.workflowId, run.runId, { followRuns: false }).result())
      .catch(() => undefined);
    return queries.describeOwned(accountId, run.workflowId);
  }

  /** Whether a cancelled run was cancelled by the destination being disabled (not on request). */
  async function cancelledByDisable(item: DeliverySummary): Promise<boolean> {
    const state = await client.workflow
      .getHandle<typeof deliveryWorkflow>(item.id, item.run_id, { followRuns: false })
      .result()
      .catch(() => undefined);
    return state?.attempts.at(-1)?.error?.code === 'destination_disabled';
  }

  return {
    async retry(accountId, id) {
      const previous = await closedRun(accountId, await queries.describeOwned(accountId, id));
      if (previous.status.name === 'RUNNING') {
        throw new DomainError('delivery_running', `Delivery '${id}' is still running; wait for it to finish or cancel it first`);
      }
      const destinationId = parseDeliveryId(id)!.destinationId;
      const destination = await store.destinations.get(accountId, destinationId);
      if (!destination) throw new DomainError('destination_deleted', `The destination of delivery '${id}' was deleted`);
      requireEnabled(destination);
      return replay(destination, previous);
    },

    async recover(accountId, destinationId, since) {
      const destination = await store.destinations.get(accountId, destinationId);
      if (!destination) throw unknownId('destination', destinationId);
      requireEnabled(destination);
      const query = [
        accountScope(accountId),
        `${SA.destination.name} = ${literal(destinationId, 'destination_id')}`,
        // A run that ended without a result (crashed workflow, terminated) never set a final status.
        // Running too: a failed run is still open while it emits its alert (closedRun waits for it).
        `(${SA.status.name} IN ('failed', 'cancelled') OR ${ENDED_WITHOUT_RESULT_QUERY})`,
        startedSince(since),
      ].join(' AND ');

      const candidates: DeliverySummary[] = [];
      let token: Uint8Array | undefined;
      let more = false;
      do {
        const page = await queries.page(query, 500, token);
        const latest = await queries.latestOnly(accountId, page.items);
        for (const item of latest) if (!candidates.some((c) => c.id === item.id)) candidates.push(item);
        token = page.next;
        if (candidates.length > RECOVER_BATCH) {
          more = true;
          break;
        }
      } while (token);

      const recovered: string[] = [];
      await eachAtMost(candidates.slice(0, RECOVER_BATCH), CONCURRENCY, async (item) => {
        const previous = await closedRun(accountId, await queries.describeOwned(accountId, item.id));
        // Visibility lags: re-check the newest run itself before replaying it.
        if (previous.runId !== item.run_id || previous.status.name === 'RUNNING') return;
        if (item.status === 'cancelled' && !(await cancelledByDisable(item))) return;
        await replay(destination, previous);
        recovered.push(item.id);
      });
      return { recovered: recovered.length, deliveries: recovered.sort(), more };
    },
  };
}
