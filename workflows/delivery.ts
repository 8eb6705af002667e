import {
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  CancellationScope,
} from '@temporalio/workflow';
import type { DeliveryActivities } from '../src/activities/index.ts';
import { SA_STATUS } from './search-attribute-keys.ts';
import { delayBeforeAttempt } from './retry-schedule.ts';
import type { AttemptRecord, DeliveryInput, DeliveryState, DeliveryStatus } from './types.ts';

export const statusQuery = defineQuery<DeliveryState>('status');
/** Sent by `POST /v1/destinations/:id/resume` to deliveries waiting on a paused destination. */
export const resumeSignal = defineSignal('resume');

// One attempt is one activity execution with no activity-level retries: the workflow owns the
// schedule, so every attempt (and its request/response) is its own event in the history.
const { attemptDelivery } = proxyActivities<DeliveryActivities>({
  startToCloseTimeout: '90 seconds',
  retry: { maximumAttempts: 1 },
});

// Reading the mapping and running it is idempotent, so Temporal may retry it on infrastructure errors.
const { transformEvent } = proxyActivities<DeliveryActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5, initialInterval: '200 milliseconds' },
});

/** The durable delivery of one event to one destination. Its history is the audit log. */
export async function deliveryWorkflow(input: DeliveryInput): Promise<DeliveryState> {
  const state: DeliveryState = {
    id: input.deliveryId,
    status: 'pending',
    event_id: input.event.id,
    event_type: input.event.type,
    destination_id: input.destinationId,
    account_id: input.accountId,
    attempts: [],
    accepted_at: input.acceptedAt,
  };
  let resumed = false;
  setHandler(statusQuery, () => state);
  setHandler(resumeSignal, () => {
    resumed = true;
  });

  const setStatus = (status: DeliveryStatus) => {
    if (state.status === status) return;
    state.status = status;
    upsertSearchAttributes([{ key: SA_STATUS, value: status }]);
  };

  try {
    const transform = await transformEvent({
      destinationId: input.destinationId,
      deliveryId: input.deliveryId,
      event: input.event,
    });
    state.transform = transform;
    state.mapping = transform.mapping;
    if (transform.error) {
      state.reason = `transform failed: ${transform.error.message}`;
      setStatus('failed');
      return state;
    }
    if (transform.request === null) {
      state.reason = 'the mapping skipped this event';
      setStatus('skipped');
      return state;
    }

    const offset = input.replayOf?.previousAttempts ?? 0;
    let last: AttemptRecord | undefined;
    for (let n = 1; ; n++) {
      const wait = delayBeforeAttempt(input.retryScheduleS, n, last?.retry_after_ms, Math.random);
      if (wait === undefined) {
        state.reason = `gave up after ${n - 1} attempts: ${describe(last)}`;
        setStatus('failed');
        return state;
      }
      if (wait > 0) {
        state.next_attempt_at = new Date(Date.now() + wait).toISOString();
        await sleep(wait);
        state.next_attempt_at = undefined;
      }
      last = await attemptDelivery({
        deliveryId: input.deliveryId,
        destinationId: input.destinationId,
        event: input.event,
        attempt: offset + n,
        request: transform.request,
      });
      state.attempts.push(last);
      switch (last.verdict) {
        case 'delivered':
          state.delivered_at = new Date(Date.now()).toISOString();
          setStatus('delivered');
          return state;
        case 'failed':
        case 'gone':
          state.reason = describe(last);
          setStatus('failed');
          return state;
        case 'cancelled':
          state.reason = describe(last);
          setStatus('cancelled');
          return state;
        case 'retry':
          if (last.error?.code === 'destination_paused') {
            // A paused destination holds its deliveries without spending attempts of the schedule.
            state.attempts.pop();
            n--;
            resumed = false;
            setStatus('pending');
            state.reason = 'destination paused';
            // The resume signal is the fast path; the periodic re-check covers a signal that raced the pause.
            await condition(() => resumed, '5 minutes');
            state.reason = undefined;
            last = undefined;
            continue;
          }
          setStatus('retrying');
      }
    }
  } catch (err) {
    if (isCancellation(err)) {
      await CancellationScope.nonCancellable(async () => {
        state.reason = 'cancelled by request';
        setStatus('cancelled');
      });
      return state;
    }
    throw err;
  }
}

function describe(a: AttemptRecord | undefined): string {
  if (!a) return 'no attempt';
  if (a.error) return `${a.error.code}: ${a.error.message}`;
  if (a.response) return `HTTP ${a.response.status}`;
  return a.verdict;
}
