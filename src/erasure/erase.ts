import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { AttemptRecord } from '../../workflows/types.ts';
import { eachAtMost } from '../concurrency.ts';
import { nowIso } from '../ids.ts';
import type { DeliveryView } from '../deliveries/query.ts';
import type { CallDelivery, CallErasure, CallStore, ErasedBy, ErasedDeliverySummary, ErasedDeliveryView } from '../store/calls.ts';
import type { MessageStore } from '../store/messages.ts';
import { parseDeliveryId } from '../temporal/delivery-ids.ts';
import { SA } from '../temporal/search-attributes.ts';

/** How long the erasure waits for a delivery's state before it summarises it from visibility alone. */
const READ_DEADLINE_MS = 5000;
const AT_ONCE = 8;

export interface ErasureDeps {
  calls: CallStore;
  /** Pull-stream messages of the call's deliveries are its data too: removed with it. */
  messages: Pick<MessageStore, 'removeDeliveries'>;
  client: Client;
  /** Reads a delivery while its key still exists (DeliveryService.get). */
  readDelivery(accountId: string, id: string): Promise<DeliveryView | ErasedDeliveryView>;
  /** Drops the erased keys from this process's caches. */
  forget?(keyId: string): void;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export interface ErasureResult {
  call_id: string;
  erased_at: string;
  deliveries: number;
  cancelled: number;
}

export interface ErasureService {
  /**
   * Erases a call: marks it (from then on no attempt of it is sent and nothing new is written under
   * its keys), stops its running deliveries, keeps a summary of each without its data, then destroys
   * the keys. Every step is idempotent and the mark is in the store, so a crash mid-way is finished
   * by `resumePending` (the worker role) or by asking again.
   */
  erase(accountId: string, callId: string, by: ErasedBy): Promise<ErasureResult>;
  resumePending(): Promise<number>;
}

const attemptSummary = (a: AttemptRecord): ErasedDeliverySummary['attempts'][number] => ({
  n: a.n,
  started_at: a.started_at,
  duration_ms: a.duration_ms,
  ...(a.finished_at ? { finished_at: a.finished_at } : {}),
  verdict: a.verdict,
  ...(a.response?.status !== undefined ? { status: a.response.status } : {}),
  ...(a.error ? { error_code: a.error.code } : {}),
});

export function createErasureService(deps: ErasureDeps): ErasureService {
  const { calls, client } = deps;

  /** Stops the delivery if it runs, and answers its summary; `cancelled`: it was stopped here. */
  async function shred(erasure: CallErasure, d: CallDelivery): Promise<{ cancelled: boolean }> {
    const handle = client.workflow.getHandle(d.delivery_id);
    let running = false;
    let status: string | undefined;
    try {
      const description = await handle.describe();
      running = description.status.name === 'RUNNING';
      status = description.typedSearchAttributes.get(SA.status);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    // Read while the key still exists; the mark already keeps any new attempt from being sent.
    const read = await client
      .withDeadline(Date.now() + READ_DEADLINE_MS, () => deps.readDelivery(erasure.account_id, d.delivery_id))
      .catch((err: unknown) => {
        deps.log.warn({ err, delivery_id: d.delivery_id }, 'could not read an erased delivery; its summary holds what visibility says');
        return undefined;
      });
    const view = read && !('erased' in read) ? read : undefined;
    // Terminated, not cancelled: its key is about to go, and no worker could replay its history after that.
    if (running) {
      await handle.terminate('erased').catch((err: unknown) => {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      });
    }
    const ids = parseDeliveryId(d.delivery_id);
    const summary: ErasedDeliverySummary = {
      id: d.delivery_id,
      status: running ? 'cancelled' : (view?.status ?? status ?? 'unknown'),
      ...(running ? { reason: 'erased' } : view?.reason ? { reason: view.reason } : {}),
      event_id: view?.event_id ?? ids?.eventId ?? '',
      event_type: view?.event_type ?? '',
      destination_id: view?.destination_id ?? ids?.destinationId ?? '',
      ...(view?.accepted_at ? { accepted_at: view.accepted_at } : {}),
      ...(view?.delivered_at ? { delivered_at: view.delivered_at } : {}),
      // A running delivery ends here, terminated by this erasure: that is when it was cancelled.
      ...(running ? { cancelled_at: nowIso() } : view?.cancelled_at ? { cancelled_at: view.cancelled_at } : {}),
      ...(!running && view?.failed_at ? { failed_at: view.failed_at } : {}),
      ...(!running && view?.next_attempt_at ? { next_attempt_at: view.next_attempt_at } : {}),
      attempts: (view?.attempts ?? []).map(attemptSummary),
    };
    await calls.saveErasedSummary(d.delivery_id, summary);
    return { cancelled: running };
  }

  async function complete(erasure: CallErasure): Promise<ErasureResult> {
    const keys = new Set(erasure.key_ids);
    const covered = (await calls.deliveriesOf(erasure.account_id, erasure.call_id)).filter((d) => keys.has(d.key_id));
    let cancelled = 0;
    await eachAtMost(
      covered.filter((d) => !d.erased),
      AT_ONCE,
      async (d) => {
        if ((await shred(erasure, d)).cancelled) cancelled++;
      },
    );
    // A resumed erasure counts what the first try cancelled from the summaries it kept.
    cancelled = covered.filter((d) => d.erased?.reason === 'erased').length + cancelled;
    // Before the keys go: an erasure interrupted after this is resumed from the mark and removes them again.
    await deps.messages.removeDeliveries(covered.map((d) => d.delivery_id));
    await calls.completeErasure(erasure, { deliveries: covered.length, cancelled });
    for (const id of erasure.key_ids) deps.forget?.(id);
    return { call_id: erasure.call_id, erased_at: erasure.erased_at, deliveries: covered.length, cancelled };
  }

  return {
    async erase(accountId, callId, by) {
      return complete(await calls.beginErasure(accountId, callId, by));
    },
    async resumePending() {
      const pending = await calls.pendingErasures();
      for (const erasure of pending) {
        const done = await complete(erasure);
        deps.log.info({ call_erasure: erasure.id, deliveries: done.deliveries, cancelled: done.cancelled }, 'finished an interrupted call erasure');
      }
      return pending.length;
    },
  };
}
