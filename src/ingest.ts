import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { attemptTimeoutMs } from '../workflows/attempt-limits.ts';
import type { DeliveryEvent, DeliveryInput } from '../workflows/types.ts';
import { AppError } from './errors.ts';
import type { EventEnvelope } from './events/catalog.ts';
import { nowIso } from './ids.ts';
import type { Destination } from './store/destinations.ts';
import type { DeliveryRef } from './store/events.ts';
import type { Store } from './store/index.ts';
import { deliveryId } from './temporal/delivery-ids.ts';
import { SA } from './temporal/search-attributes.ts';

export interface IngestResult {
  event_id: string;
  deliveries: DeliveryRef[];
}

export interface IngestDeps {
  store: Store;
  client: Client;
  taskQueue: string;
  onIngested?: (eventType: string) => void;
  /** The client shares a NativeConnection with a worker of this process (see createSharedClient). */
  eagerStart?: boolean;
}

export interface ReplayOptions {
  replayOf: NonNullable<DeliveryInput['replayOf']>;
  mapping: DeliveryInput['mapping'];
}

export interface IngestService {
  ingest(accountId: string, envelope: EventEnvelope): Promise<IngestResult>;
  /**
   * Starts (idempotently) the delivery of one event to one destination; used by ingest and replays.
   * A replay passes `replay` with the original's attempt count and pinned mapping version; without a
   * pinned version the destination's current one is pinned.
   */
  startDelivery(destination: Destination, event: DeliveryEvent, acceptedAt: string, replay?: ReplayOptions): Promise<void>;
}

export function createIngestService(deps: IngestDeps): IngestService {
  const { store, client, taskQueue } = deps;

  /** The version a new delivery runs: pinned now, so an edit of the mapping after ingest cannot change it. */
  async function pinMapping(destination: Destination): Promise<DeliveryInput['mapping']> {
    if (!destination.mapping_id) return null;
    const m = await store.mappings.get(destination.account_id, destination.mapping_id);
    return m ? { id: m.id, version: m.version } : null;
  }

  async function startDelivery(
    destination: Destination,
    event: DeliveryEvent,
    acceptedAt: string,
    replay?: ReplayOptions,
  ): Promise<void> {
    const id = deliveryId(destination.id, event.id);
    const replayOf = replay?.replayOf;
    const input: DeliveryInput = {
      deliveryId: id,
      accountId: destination.account_id,
      destinationId: destination.id,
      event,
      acceptedAt,
      retryScheduleS: destination.retry_schedule_s,
      attemptTimeoutMs: attemptTimeoutMs(destination),
      mapping: replay?.mapping !== undefined ? replay.mapping : await pinMapping(destination),
      replayOf,
    };
    try {
      await client.workflow.start('deliveryWorkflow', {
        workflowId: id,
        taskQueue,
        args: [input],
        // A concurrent duplicate joins the running delivery; a late duplicate of a finished one is
        // refused by Temporal and ends up here as AlreadyStarted, which is the answer we want.
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        workflowIdReusePolicy: replayOf ? WorkflowIdReusePolicy.ALLOW_DUPLICATE : WorkflowIdReusePolicy.REJECT_DUPLICATE,
        // The first workflow task rides back on the start response to this process's worker: no
        // matching hop and no poll before the transform runs: p50 at 5 events/s 200 ms → 103 ms with
        // this change alone (bench/results/tuning.md).
        requestEagerStart: deps.eagerStart,
        typedSearchAttributes: [
          { key: SA.account, value: destination.account_id },
          { key: SA.eventType, value: event.type },
          { key: SA.destination, value: destination.id },
          { key: SA.callId, value: event.data.call_id },
          ...(event.data.lead_id ? [{ key: SA.leadId, value: event.data.lead_id }] : []),
          { key: SA.status, value: 'pending' },
        ],
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw err;
    }
  }

  return {
    startDelivery,
    async ingest(accountId, envelope) {
      if (envelope.account_id !== undefined && envelope.account_id !== accountId) {
        throw new AppError(400, 'account_mismatch', `account_id '${envelope.account_id}' is not the account of this API key`);
      }
      const acceptedAt = nowIso();
      const subscribed = await store.destinations.listSubscribed(accountId, envelope.type);
      const record = await store.events.claim(accountId, {
        event_id: envelope.id,
        type: envelope.type,
        received_at: acceptedAt,
        deliveries: subscribed.map((d) => ({ id: deliveryId(d.id, envelope.id), destination_id: d.id })),
      });
      const event: DeliveryEvent = { ...envelope, account_id: accountId } as DeliveryEvent;
      const byId = new Map(subscribed.map((d) => [d.id, d]));
      // A duplicate re-issues the starts of the first request: if that one died between recording
      // the event and Temporal accepting every start, the producer's retry completes the fan-out.
      try {
        await Promise.all(
          record.deliveries.map(async (ref) => {
            const dest = byId.get(ref.destination_id) ?? (await store.destinations.getById(ref.destination_id));
            if (dest) await startDelivery(dest, event, record.received_at);
          }),
        );
      } catch (err) {
        // A refusal with its own code (a locked database: database_busy) keeps it.
        if (err instanceof AppError) throw err;
        throw new AppError(503, 'temporal_unavailable', `The event was not accepted: starting its deliveries failed (${(err as Error).message}). Send it again with the same id.`);
      }
      if (record.received_at === acceptedAt) deps.onIngested?.(envelope.type);
      return { event_id: record.event_id, deliveries: record.deliveries };
    },
  };
}
