import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { attemptTimeoutMs } from '../workflows/attempt-limits.ts';
import type { DeliveryEvent, DeliveryInput } from '../workflows/types.ts';
import { deliveryWorkflow } from '../workflows/delivery.ts';
import { eachAtMost } from './concurrency.ts';
import { KeyRingError } from './crypto/keyring.ts';
import { AppError, DomainError } from './errors.ts';
import { isOperationalEventType, type EventEnvelope } from './events/catalog.ts';
import { applyFilter } from './events/filter.ts';
import type { TransformEngine, TransformError } from '../sandboxes/index.ts';
import { nowIso } from './ids.ts';
import type { Destination } from './store/destinations.ts';
import type { DeliveryRef } from './store/events.ts';
import type { Store } from './store/index.ts';
import { deliveryId } from './temporal/delivery-ids.ts';
import { enqueueAtGates, gatesFor } from './temporal/gates.ts';
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
  /** Runs destination filters (src/events/filter.ts). */
  engine: TransformEngine;
  /** A filter failed at run time; the event was delivered anyway. */
  onFilterError?: (destinationId: string, error: TransformError) => void;
}

export interface BatchItem {
  accountId: string;
  envelope: EventEnvelope;
}

export type BatchOutcome = { ok: true; result: IngestResult } | { ok: false; error: unknown };

/**
 * How many events of one batch are in ingest at once: enough to overlap the Temporal round trips
 * (a start, an enqueue) of different calls, few enough that one batch does not take every
 * connection of the database pool or every eager-start slot of the worker, nor the process from
 * other accounts' single events: with 16, a neighbour's 100-event batches put B's p99 at 3.0 s in
 * the burst scenario; with 4, at 251 ms, the burst taking as long (bench/results/fairness.md).
 */
export const BATCH_CONCURRENCY = 4;

/** A refusal the producer must fix: resending it as is fails again, so later events of its call need not wait for it. */
const isPermanent = (err: unknown): boolean =>
  (err instanceof DomainError && (err.code === 'account_mismatch' || err.code === 'reserved_event_type')) || (err instanceof AppError && err.statusCode < 500);

export interface ReplayOptions {
  replayOf: NonNullable<DeliveryInput['replayOf']>;
  mapping: DeliveryInput['mapping'];
}

export interface IngestService {
  /** `operational`: the worker emitting a `hook.*` event (src/events/operational.ts); producers may not. */
  ingest(accountId: string, envelope: EventEnvelope, opts?: { operational?: boolean }): Promise<IngestResult>;
  /**
   * Ingests each item as `ingest` does, several at a time; answers an outcome per item, in order.
   * The events of one call (account, `data.call_id`) are ingested one after another in the order
   * given, so their places at a per_call sequencer follow it (src/temporal/gates.ts).
   */
  ingestBatch(items: readonly BatchItem[]): Promise<BatchOutcome[]>;
  /**
   * Starts (idempotently) the delivery of one event to one destination; used by ingest and replays.
   * A replay passes `replay` with the original's attempt count and pinned mapping version; without a
   * pinned version the destination's current one is pinned. Answers the run it started, or
   * undefined when a run of that delivery already existed.
   */
  startDelivery(destination: Destination, event: DeliveryEvent, acceptedAt: string, replay?: ReplayOptions, opts?: { test?: boolean }): Promise<string | undefined>;
}

export function createIngestService(deps: IngestDeps): IngestService {
  const { store, client, taskQueue } = deps;

  /**
   * The version a new delivery runs: the destination's pinned one, else the current one, fixed now so
   * an edit of the mapping after ingest cannot change it.
   */
  async function pinMapping(destination: Destination): Promise<DeliveryInput['mapping']> {
    if (!destination.mapping_id) return null;
    const m = await store.mappings.get(destination.account_id, destination.mapping_id);
    if (!m) return null;
    return { id: m.id, version: destination.mapping_version ?? m.version };
  }

  async function startDelivery(
    destination: Destination,
    event: DeliveryEvent,
    acceptedAt: string,
    replay?: ReplayOptions,
    opts?: { test?: boolean },
  ): Promise<string | undefined> {
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
      ...(opts?.test ? { test: true } : {}),
    };
    const gates = gatesFor(destination, event);
    if (gates) input.gates = gates;
    let run: string;
    try {
      ({ firstExecutionRunId: run } = await client.workflow.start(deliveryWorkflow, {
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
        // Matching dispatches the task queue's backlog fairly between accounts (a server with
        // fairness on: matching.enableFairness, src/temporal/dev-server.ts); the run's activities
        // inherit the key. Elsewhere the key is carried and ignored.
        priority: { fairnessKey: destination.account_id },
        typedSearchAttributes: [
          { key: SA.account, value: destination.account_id },
          { key: SA.eventType, value: event.type },
          { key: SA.destination, value: destination.id },
          ...(event.data.call_id ? [{ key: SA.callId, value: event.data.call_id }] : []),
          ...(event.data.lead_id ? [{ key: SA.leadId, value: event.data.lead_id }] : []),
          { key: SA.status, value: 'pending' },
        ],
      }));
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
      // The delivery existed and its call was erased since (a duplicate, a recover): nothing to start.
      if (err instanceof KeyRingError && err.code === 'erased') return undefined;
      throw err;
    }
    // Here, not in the delivery's first workflow task (two workers may run those in either order):
    // the places at the gates follow acceptance. A failure is a 503: the producer's retry finds the
    // running delivery (same run) and takes the same place again.
    if (gates) await enqueueAtGates(client, taskQueue, gates, id, run);
    return run;
  }

  /** The destinations whose filter lets the event through (evaluated in parallel: each is bounded in time). */
  async function passingFilters(destinations: Destination[], event: DeliveryEvent): Promise<Destination[]> {
    const verdicts = await Promise.all(
      destinations.map(async (d) => {
        const verdict = await applyFilter(deps.engine, d, event, deliveryId(d.id, event.id));
        if (verdict.error) deps.onFilterError?.(d.id, verdict.error);
        return verdict.pass;
      }),
    );
    return destinations.filter((_, i) => verdicts[i]);
  }

  const service: IngestService = {
    startDelivery,
    async ingest(accountId, envelope, opts) {
      if (envelope.account_id !== undefined && envelope.account_id !== accountId) {
        throw new DomainError('account_mismatch', `account_id '${envelope.account_id}' is not the account of this API key`);
      }
      if (isOperationalEventType(envelope.type) && !opts?.operational) {
        throw new DomainError('reserved_event_type', `type: '${envelope.type}' is an operational event that VoiceOI Hooks emits itself; it cannot be posted`);
      }
      const acceptedAt = nowIso();
      const event: DeliveryEvent = { ...envelope, account_id: accountId } as DeliveryEvent;
      const destinations = await store.destinations.listSubscribed(accountId, envelope.type);
      const claim = async () => {
        const subscribed = await passingFilters(destinations, event);
        const deliveries = subscribed.map((d) => ({ id: deliveryId(d.id, envelope.id), destination_id: d.id }));
        return store.events.claim(accountId, { event_id: envelope.id, type: envelope.type, received_at: acceptedAt, deliveries });
      };
      // A duplicate answers the first request's fan-out, so the sandbox runs filters only for an event
      // not seen yet; the look-up is made only when a filter would run (otherwise the claim alone is
      // cheaper). Two concurrent first requests both run them: the claim decides, and the loser answers the winner's.
      const seen = destinations.some((d) => d.filter) ? await store.events.get(accountId, envelope.id) : undefined;
      const record = seen ?? (await claim());
      // Before any start: the codec finds the call's key by the delivery id (src/erasure/call-keys.ts).
      const callId: unknown = event.data.call_id;
      if (typeof callId === 'string' && record.deliveries.length > 0) {
        const keyId = await store.calls.keyFor(accountId, callId);
        await store.calls.recordDeliveries(accountId, callId, keyId, record.deliveries.map((d) => d.id));
      }
      const byId = new Map(destinations.map((d) => [d.id, d]));
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
        if (err instanceof AppError || err instanceof DomainError) throw err;
        throw new DomainError('temporal_unavailable', `The event was not accepted: starting its deliveries failed (${(err as Error).message}). Send it again with the same id.`);
      }
      if (record.received_at === acceptedAt) deps.onIngested?.(envelope.type);
      return { event_id: record.event_id, deliveries: record.deliveries };
    },
    async ingestBatch(items) {
      const outcomes: BatchOutcome[] = new Array(items.length);
      const lanes = new Map<string, number[]>();
      items.forEach((item, i) => {
        const callId: unknown = item.envelope.data.call_id;
        const key = typeof callId === 'string' ? JSON.stringify([item.accountId, callId]) : `#${i}`;
        const lane = lanes.get(key);
        if (lane) lane.push(i);
        else lanes.set(key, [i]);
      });
      // Longest lanes first: a call with many events in the batch is not left to run alone at the end.
      const longestFirst = [...lanes.values()].sort((a, b) => b.length - a.length);
      await eachAtMost(longestFirst, BATCH_CONCURRENCY, async (lane) => {
        let held: string | undefined;
        for (const i of lane) {
          const { accountId, envelope } = items[i]!;
          if (held !== undefined) {
            // Accepting it would let it overtake the earlier event when that one is sent again.
            outcomes[i] = { ok: false, error: new AppError(503, 'call_order_held', `Not accepted: event '${held}' of the same call earlier in this batch was refused with a temporary error, and this one must not overtake it. Send both again, in order`) };
            continue;
          }
          try {
            outcomes[i] = { ok: true, result: await service.ingest(accountId, envelope) };
          } catch (error) {
            outcomes[i] = { ok: false, error };
            if (!isPermanent(error)) held = envelope.id;
          }
        }
      });
      return outcomes;
    },
  };
  return service;
}
