import type { Client } from '@temporalio/client';
import type { DeliveryEvent } from '../../workflows/types.ts';
import { DomainError } from '../errors.ts';
import type { IngestService } from '../ingest.ts';
import type { ErasedDeliveryView } from '../store/calls.ts';
import type { Store } from '../store/index.ts';
import { SA } from '../temporal/search-attributes.ts';
import type { KeyRing } from '../crypto/keyring.ts';
import { createCursors } from './cursor.ts';
import { createDeliveryQueries, type DeliveryFilters, type DeliverySummary, type DeliveryView } from './query.ts';
import { createReplays, type RecoverResult, type ReplayStarted } from './replay.ts';
import { createResumeDrain, type ResumeDrain } from './resume.ts';
import { createRunReader } from './runs.ts';

export type { DeliveryFilters, DeliverySummary, DeliveryView } from './query.ts';
export type { RecoverResult, ReplayStarted } from './replay.ts';
export { RECOVER_BATCH } from './replay.ts';

/**
 * Deliveries as the API sees them: read (query.ts, from visibility and histories), replayed
 * (replay.ts: retry one, recover a destination's failed ones), cancelled, and released in order
 * after a pause (resume.ts).
 */
export interface DeliveryService extends ResumeDrain {
  /** An erased delivery answers its kept summary (src/erasure/erased-deliveries.ts). */
  get(accountId: string, id: string): Promise<DeliveryView | ErasedDeliveryView>;
  /** The event envelope the delivery carries, from its run's input (no copy is stored elsewhere). */
  event(accountId: string, id: string): Promise<DeliveryEvent>;
  list(accountId: string, filters: DeliveryFilters): Promise<{ items: DeliverySummary[]; next_cursor: string | null }>;
  /** A new run of the same workflow id: same event, same `webhook-id`, attempt numbers continuing. */
  retry(accountId: string, id: string): Promise<ReplayStarted>;
  /** Replays the destination's failed deliveries since `since` (see Replays.recover). */
  recover(accountId: string, destinationId: string, since: string): Promise<RecoverResult>;
  cancel(accountId: string, id: string): Promise<{ id: string; run_id: string }>;
}

export function createDeliveryService(deps: {
  client: Client;
  store: Store;
  ingest: IngestService;
  /** Where the resume drain runs: the deliveries' own task queue. */
  taskQueue: string;
  /** Keys the list cursors (cursor.ts). */
  keyRing: Pick<KeyRing, 'currentKeyId' | 'key'>;
}): DeliveryService {
  const { client } = deps;
  const runs = createRunReader(client);
  const queries = createDeliveryQueries({ client, runs, cursors: createCursors(deps.keyRing) });
  const replays = createReplays({ client, store: deps.store, ingest: deps.ingest, queries, runs });
  const drain = createResumeDrain({ client, taskQueue: deps.taskQueue });

  return {
    get: queries.get,
    list: queries.list,
    retry: replays.retry,
    recover: replays.recover,
    resumeHeld: drain.resumeHeld,

    async event(accountId, id) {
      return (await runs.inputOf(await queries.describeOwned(accountId, id))).event;
    },

    async cancel(accountId, id) {
      const description = await queries.describeOwned(accountId, id);
      if (description.status.name !== 'RUNNING') {
        throw new DomainError('delivery_finished', `Delivery '${id}' already finished (${description.typedSearchAttributes.get(SA.status) ?? description.status.name})`);
      }
      await client.workflow.getHandle(id, description.runId).cancel();
      return { id, run_id: description.runId };
    },
  };
}
