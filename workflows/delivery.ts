import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  proxySinks,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
  CancellationScope,
} from '@temporalio/workflow';
import type { DeliveryActivities } from '../src/activities/index.ts';
import { SA_STATUS } from './search-attribute-keys.ts';
import { delayBeforeAttempt } from './retry-schedule.ts';
import { momentOf, timerFiresAfter } from './moments.ts';
import { deliveryGates } from './delivery-gates.ts';
import { slotSignal } from './gate-signals.ts';
import { LEGACY_ATTEMPT_TIMEOUT_MS, MAX_ATTEMPTS_PER_RUN, MAX_RECORDED_PER_RUN, outline } from './attempt-limits.ts';
import { propagationMs, TERMINAL, type DeliverySinks } from './sinks.ts';
import { SANDBOX_BUSY_FAILURE, untransformed, type AttemptRecord, type DeliveryInput, type DeliveryState, type DeliveryStatus } from './types.ts';

export const statusQuery = defineQuery<DeliveryState>('status');
/** Sent by `POST /v1/destinations/:id/resume` to deliveries waiting on a paused destination. */
export const resumeSignal = defineSignal('resume');
/**
 * Resume one held delivery and answer once its next attempt is done (true), or at once when it was
 * not held (false). `resumeHeld` (src/deliveries.ts) sends it to a destination's backlog one delivery
 * at a time, oldest first, so the backlog reaches the receiver in the order its events were accepted.
 */
export const resumeUpdate = defineUpdate<boolean>('resume-and-wait');

const { metrics } = proxySinks<DeliverySinks>();

// One attempt is one activity execution with no activity-level retries: the workflow owns the
// schedule, so every attempt (and its request/response) is its own event in the history.
const { attemptDelivery } = proxyActivities<DeliveryActivities>({
  startToCloseTimeout: LEGACY_ATTEMPT_TIMEOUT_MS,
  retry: { maximumAttempts: 1 },
});
/**
 * Runs with this patch time each attempt out after the pinned `attemptTimeoutMs`, record a lost
 * attempt (worker crashed, activity failed) as an attempt instead of failing the workflow, and
 * continue as new every MAX_ATTEMPTS_PER_RUN attempts. Histories without it replay the old way.
 */
export const BOUNDED_ATTEMPTS_PATCH = 'voiceoi-bounded-attempts';

// Reading the mapping and running it is idempotent, so Temporal may retry it on infrastructure errors.
const transformOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 5, initialInterval: '200 milliseconds' },
} as const;
const { transformEvent } = proxyActivities<DeliveryActivities>(transformOptions);
// As a local activity the transform runs inside the workflow task that starts the delivery, so the
// first attempt is scheduled one workflow-task round trip earlier: p50 propagation at 5 events/s
// went from 200 ms (skeleton) to 61 ms with this change alone (bench/results/tuning.md). Its
// outcome is still in history (a marker), so the audit log keeps the pinned mapping and the output.
const { transformEvent: transformEventLocally } = proxyLocalActivities<DeliveryActivities>(transformOptions);
/** Histories written before the transform became local replay with the normal activity. */
export const LOCAL_TRANSFORM_PATCH = 'voiceoi-local-transform';
// A transform that could not run (the account's share of the sandbox full, the engine closing) after
// the local tries: an ordinary activity, retried with back-off for up to a day, so the delivery waits
// for the sandbox instead of failing. A script that fails or crashes the sandbox is not retried here.
const { transformEvent: transformEventPatiently } = proxyActivities<DeliveryActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 day',
  // 'Error': the step's plain error for a crashed sandbox, which a script can cause: not waited on.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: ['Error'] },
});
/** Runs with this patch wait for a transform that could not run; histories without it ended failed. */
export const TRANSFORM_WAITS_PATCH = 'voiceoi-transform-waits';


// Emitting hook.delivery_failed reads and writes the store and starts workflows: an ordinary
// activity, retried for about a day (a failure is worth reporting after an outage too).
const { deliveryFailed } = proxyActivities<DeliveryActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 100, initialInterval: '1 second', maximumInterval: '15 minutes' },
});
/** Runs with this patch emit hook.delivery_failed when they fail; histories without it end as they did. */
export const OPERATIONAL_EVENTS_PATCH = 'voiceoi-operational-events';

/**
 * One marker for runs started from this release on, instead of one per change (each patch marker is
 * two history events: the marker and the TemporalChangeVersion upsert). It implies the patches above,
 * which such runs no longer ask, and adds the local first attempt. Histories without it take the
 * branches of the patches they hold, as before.
 */
export const DELIVERY_V3_PATCH = 'voiceoi-v3';
/**
 * The single marker of runs started from the next release on: it implies voiceoi-v3, and a delivery
 * without a mapping builds its request in the workflow (the envelope as it is) instead of asking a
 * local activity for it, which cost the run's workflow task one more activation and one more marker.
 */
export const DELIVERY_V4_PATCH = 'voiceoi-v4';
/**
 * The single marker from issue 19 on: it implies voiceoi-v4, and each attempt takes one of its
 * destination's max_in_flight slots (AttemptInput.slot): an attempt over the bound comes back unsent
 * (`hold`) and the run waits, durably, for the slot signal; a slow destination's first attempt is
 * sent as an ordinary activity rather than inside the workflow task (src/delivery/local-attempts.ts).
 */
export const DELIVERY_V5_PATCH = 'voiceoi-v5';
/** Past this a delivery waiting for a slot asks again, in case the signal that hands it one was lost. */
const SLOT_RECHECK = '5 minutes';

/** The durable delivery of one event to one destination. Its history is the audit log. */
export async function deliveryWorkflow(input: DeliveryInput): Promise<DeliveryState> {
  // Asked first, in the run's first activation (see deliver()): a run already under way when this
  // release arrived replays that activation without the marker, so it keeps its own patches.
  const v5 = patched(DELIVERY_V5_PATCH);
  const v4 = v5 || patched(DELIVERY_V4_PATCH);
  const v3 = v4 || patched(DELIVERY_V3_PATCH);
  const state = await deliver(input, v3, v4, v5);
  // No alert loops: the failure of an operational event's delivery, or of a test send, emits nothing.
  if (state.status === 'failed' && !input.event.type.startsWith('hook.') && !input.test && (v3 || patched(OPERATIONAL_EVENTS_PATCH))) {
    await deliveryFailed({
      accountId: input.accountId,
      deliveryId: input.deliveryId,
      destinationId: input.destinationId,
      eventId: input.event.id,
      eventType: input.event.type,
      reason: state.reason ?? 'failed',
      attempts: state.attempts.length,
      gone: state.attempts.at(-1)?.verdict === 'gone',
    }).catch((err: unknown) => {
      // Spent its retries: the delivery still ends failed, with its own reason; the alert is lost.
      if (!(err instanceof ActivityFailure)) throw err;
    });
  }
  return state;
}

async function deliver(input: DeliveryInput, v3: boolean, v4: boolean, v5: boolean): Promise<DeliveryState> {
  const state: DeliveryState = {
    id: input.deliveryId,
    status: 'pending',
    event_id: input.event.id,
    event_type: input.event.type,
    destination_id: input.destinationId,
    account_id: input.accountId,
    // A continued run starts with the outlines of the earlier runs' attempts: the log stays whole.
    attempts: [...(input.continued?.earlier ?? [])],
    accepted_at: input.acceptedAt,
  };
  let resumed = false;
  let holding = false;
  let attemptsDone = 0;
  let slotHanded = false;
  setHandler(statusQuery, () => state);
  setHandler(slotSignal, () => {
    slotHanded = true;
  });
  setHandler(resumeSignal, () => {
    resumed = true;
  });
  setHandler(resumeUpdate, async () => {
    if (!holding) return false;
    resumed = true;
    const seen = attemptsDone;
    await condition(() => attemptsDone > seen || TERMINAL.has(state.status));
    return true;
  });

  /** `outcome`: what ended the delivery, whose finished_at is the moment it ended (workflows/moments.ts). */
  const setStatus = (status: DeliveryStatus, outcome?: { finished_at?: string }) => {
    if (state.status === status) return;
    state.status = status;
    if (status === 'delivered') state.delivered_at = momentOf(outcome);
    else if (status === 'failed') state.failed_at = momentOf(outcome);
    else if (status === 'cancelled') state.cancelled_at = momentOf(outcome);
    upsertSearchAttributes([{ key: SA_STATUS, value: status }]);
    if (TERMINAL.has(status)) metrics.finished(status, { replay: input.replayOf !== undefined, propagationMs: propagationMs(input, state) });
  };

  // Asked first, in the run's first activation: asked after the local transform, a replay can reach
  // it one workflow task earlier than the original did (when the transform outlived a task) and
  // decide without the marker: a nondeterminism error (seen recording test/fixtures).
  const bounded = v3 || patched(BOUNDED_ATTEMPTS_PATCH);
  // Whether this activation belongs to the run's first workflow task on its first try (started, task
  // scheduled, task started: nothing timed out or failed before it). Read here, once: it is the same on
  // replay, and it is what makes a local first attempt safe (see localFirst below).
  const firstTaskFirstTry = v3 && workflowInfo().historyLength <= 3;
  // rate_limit_per_s and per_call ordering: the turn and the permits an attempt waits for.
  const gates = deliveryGates(input, state);
  try {
    let transform;
    const transformInput = {
      accountId: input.accountId,
      destinationId: input.destinationId,
      deliveryId: input.deliveryId,
      event: input.event,
      mapping: input.mapping ?? null,
    };
    try {
      transform = v4 && !input.mapping ? untransformed(input.event) : await (v3 || patched(LOCAL_TRANSFORM_PATCH) ? transformEventLocally : transformEvent)(transformInput);
    } catch (err) {
      // An ordinary activity's failure arrives wrapped in an ActivityFailure, a local activity's as its
      // own failure (an ApplicationFailure, or a TimeoutFailure): before this patch the latter failed
      // the workflow, with no failed status and no hook.delivery_failed.
      const local = !(err instanceof ActivityFailure) && (err instanceof ApplicationFailure || err instanceof TimeoutFailure);
      if (!(err instanceof ActivityFailure) && !local) throw err;
      const cause = err instanceof ActivityFailure ? err.cause : err;
      // Could not run, or not in time (it waited behind its account's other runs): worth waiting for.
      const busy = (cause instanceof ApplicationFailure && cause.type === SANDBOX_BUSY_FAILURE) || cause instanceof TimeoutFailure;
      // Asked only on these paths: a history that never got here has no marker and needs none.
      const waits = (local || busy) && patched(TRANSFORM_WAITS_PATCH);
      if (local && !waits) throw err;
      let failure: Error = err;
      if (busy && waits) {
        state.reason = `waiting for the transform sandbox: ${cause?.message ?? 'busy'}`;
        const late = await transformEventPatiently(transformInput).then(
          (outcome) => {
            transform = outcome;
            return undefined;
          },
          (e: unknown) => {
            if (!(e instanceof ActivityFailure)) throw e;
            return e;
          },
        );
        state.reason = undefined;
        if (late) failure = late;
      }
      if (!transform) {
        // The sandbox stayed unavailable through every retry: end as a failed delivery with the reason
        // (recover replays it, hook.delivery_failed tells), never as a failed workflow.
        const why = failure instanceof ActivityFailure ? (failure.cause?.message ?? failure.message) : failure.message;
        state.reason = `transform failed: ${why}`;
        setStatus('failed', transform);
        return state;
      }
    }
    state.transform = transform;
    state.mapping = transform.mapping;
    if (transform.error) {
      state.reason = `transform failed: ${transform.error.message}`;
      setStatus('failed', transform);
      return state;
    }
    if (transform.request === null) {
      state.reason = 'the mapping skipped this event';
      setStatus('skipped');
      return state;
    }

    const attemptOptions = { startToCloseTimeout: input.attemptTimeoutMs ?? LEGACY_ATTEMPT_TIMEOUT_MS, retry: { maximumAttempts: 1 } };
    const attempt = bounded ? proxyActivities<DeliveryActivities>(attemptOptions).attemptDelivery : attemptDelivery;
    // The first attempt, when nothing waits before it (no delay in the schedule, no gate), runs as a
    // local activity: transform and attempt then finish inside the workflow task that starts the run
    // (one task, no activity task; its record is a marker in this history, read by src/deliveries/runs.ts).
    // If the worker dies mid-attempt, that task times out and the next try of it runs the attempt
    // again, as an ordinary activity (firstTaskFirstTry is false then): a lost attempt is recorded as
    // such from there on, so a delivery that kills its worker cannot loop. The price: until a local
    // attempt ends (or its task heartbeats, at 80% of the 10 s task timeout) the run answers no query
    // and sees no cancel request. Every later attempt is an ordinary activity.
    const attemptLocally = proxyLocalActivities<DeliveryActivities>(attemptOptions).attemptDelivery;
    const gated = input.gates?.sequencer !== undefined || input.gates?.rateLimit !== undefined;
    const offset = input.replayOf?.previousAttempts ?? 0;
    const carried = input.continued;
    let last: AttemptRecord | undefined = carried?.earlier.at(-1);
    let retryAfterMs = carried ? carried.retryAfterMs : undefined;
    let runAttempts = 0;
    let runRecorded = 0;
    // The attempt came back unsent (`hold`): it is made again at once, past its wait and its gates.
    let again = false;
    let sendAt: number | undefined;
    for (let n = carried?.next ?? 1; ; n++) {
      // The history bound: the next run starts with outlines of these attempts, not the attempts, and
      // runs the pinned mapping version again rather than carrying its output (up to 1 MiB) along.
      // Search attributes carry over to the new run (Temporal copies them when none are given).
      if (bounded && (runAttempts >= MAX_ATTEMPTS_PER_RUN || runRecorded >= MAX_RECORDED_PER_RUN || workflowInfo().continueAsNewSuggested)) {
        gates.keepTurn();
        await condition(allHandlersFinished);
        const runId = workflowInfo().runId;
        return await continueAsNew<typeof deliveryWorkflow>({
          ...input,
          continued: { next: n, retryAfterMs, earlier: state.attempts.map((a) => outline(a, runId)) },
        });
      }
      const wait = again ? 0 : delayBeforeAttempt(input.retryScheduleS, n, retryAfterMs, Math.random);
      if (wait === undefined) {
        state.reason = `gave up after ${n - 1} attempts: ${describe(last)}`;
        setStatus('failed', last);
        return state;
      }
      if (wait > 0) {
        state.next_attempt_at = timerFiresAfter(wait, last);
        await sleep(wait);
        state.next_attempt_at = undefined;
      }
      // A spread permit's moment: kept when the attempt comes back unsent and is made again.
      if (!again) sendAt = await gates.beforeAttempt();
      // Cleared before the attempt, not after: a resume that lands while the attempt is still
      // reading the paused flag must not be forgotten (it would cost a 5-minute re-check).
      resumed = false;
      // Likewise a slot handed over while the attempt is still putting the delivery on the waiting list.
      slotHanded = false;
      const startedAt = Date.now();
      const localFirst = firstTaskFirstTry && attemptsDone === 0 && wait === 0 && !gated && !again;
      again = false;
      const previous = last;
      last = await (localFirst ? attemptLocally : attempt)({
        accountId: input.accountId,
        deliveryId: input.deliveryId,
        destinationId: input.destinationId,
        event: input.event,
        attempt: offset + n,
        request: transform.request,
        test: input.test,
        ...(v5 ? { slot: { acceptedAt: input.acceptedAt }, ...(sendAt !== undefined ? { sendAt } : {}) } : {}),
      }).catch((err: unknown) => {
        if (!bounded || isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
        return lostAttempt(offset + n, startedAt, err);
      });
      if (v5 && last.hold) {
        const hold = last.hold;
        last = previous;
        again = true;
        n--;
        if (hold !== 'not_local') {
          state.reason = `waiting for a free slot at the destination (${hold.max_in_flight} in flight)`;
          // The worker that frees a slot hands it to the oldest waiter and signals it; a lost signal
          // costs one re-check (the lease it was handed waits for it, then goes on to the next).
          await condition(() => slotHanded, SLOT_RECHECK);
          state.reason = undefined;
        }
        continue;
      }
      attemptsDone++;
      runAttempts++;
      runRecorded += JSON.stringify(last).length;
      retryAfterMs = last.retry_after_ms;
      state.attempts.push(last);
      switch (last.verdict) {
        case 'delivered':
          setStatus('delivered', last);
          return state;
        case 'failed':
        case 'gone':
          state.reason = describe(last);
          setStatus('failed', last);
          return state;
        case 'cancelled':
          state.reason = describe(last);
          setStatus('cancelled', last);
          return state;
        case 'retry':
          if (last.error?.code === 'destination_paused') {
            // A paused destination holds its deliveries without spending attempts of the schedule.
            state.attempts.pop();
            n--;
            setStatus('pending');
            state.reason = 'destination paused';
            // The resume signal is the fast path; the periodic re-check covers a signal that raced the pause.
            holding = true;
            await condition(() => resumed, '5 minutes');
            holding = false;
            state.reason = undefined;
            last = undefined;
            retryAfterMs = undefined;
            runAttempts--;
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
  } finally {
    // Every ending but continue-as-new passes the call's turn on, cancellation included.
    await gates.release();
  }
}

/**
 * An attempt whose activity never returned a record: it timed out (the worker died or stalled
 * mid-attempt) or threw. It counts as one attempt of the schedule, not as the end of the delivery.
 * The thrown error's message stays in the activity's failure in history, not in the attempt log.
 */
function lostAttempt(n: number, startedAtMs: number, err: ActivityFailure): AttemptRecord {
  const base = { n, started_at: new Date(startedAtMs).toISOString(), duration_ms: Date.now() - startedAtMs, finished_at: new Date(Date.now()).toISOString() };
  if (err.cause instanceof TimeoutFailure) {
    return {
      ...base,
      verdict: 'retry',
      error: { code: 'attempt_timed_out', message: 'the attempt did not finish within the destination timeout plus a margin (the worker running it stopped or stalled); retried on the schedule' },
    };
  }
  const refused = err.cause instanceof ApplicationFailure && err.cause.nonRetryable;
  const kind = err.cause instanceof ApplicationFailure && err.cause.type ? ` (${err.cause.type.slice(0, 100)})` : '';
  return {
    ...base,
    verdict: refused ? 'failed' : 'retry',
    error: { code: 'attempt_error', message: `the attempt failed inside the worker${kind}; ${refused ? 'not retried' : 'retried on the schedule'}` },
  };
}

function describe(a: AttemptRecord | undefined): string {
  if (!a) return 'no attempt';
  if (a.error) return `${a.error.code}: ${a.error.message}`;
  if (a.response) return `HTTP ${a.response.status}`;
  return a.verdict;
}
