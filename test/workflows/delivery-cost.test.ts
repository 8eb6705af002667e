import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { temporal } from '@temporalio/proto';
import { recordsAttempt } from '../../src/deliveries/runs.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver, type Reply } from '../support/receiver.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * What one run costs Temporal, read from its history. Billable actions follow Temporal Cloud's
 * published definition (docs: cloud/actions): a workflow start; each activity start; each timer;
 * each search-attribute upsert except one setting only TemporalChangeVersion (the patch marker's,
 * exempt) and except those given at start; each signal and update; and the markers (local activities
 * and patches) of one workflow task together as one action.
 */
function costOf(events: HistoryEvent[]) {
  const cost = { events: events.length, workflowTasks: 0, activityTasks: 0, markers: 0, localAttempts: 0, upserts: 0, timers: 0, billable: 0 };
  let markersThisTask = 0;
  const closeTask = () => {
    if (markersThisTask > 0) cost.billable++;
    markersThisTask = 0;
  };
  for (const e of events) {
    if (e.workflowExecutionStartedEventAttributes || e.workflowExecutionSignaledEventAttributes || e.workflowExecutionUpdateAcceptedEventAttributes || e.signalExternalWorkflowExecutionInitiatedEventAttributes) cost.billable++;
    if (e.workflowTaskCompletedEventAttributes) {
      cost.workflowTasks++;
      closeTask();
    }
    if (e.activityTaskStartedEventAttributes) {
      cost.activityTasks++;
      cost.billable += e.activityTaskStartedEventAttributes.attempt ?? 1;
    }
    if (e.markerRecordedEventAttributes) {
      cost.markers++;
      markersThisTask++;
      if (recordsAttempt(e)) cost.localAttempts++;
    }
    const upserted = Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
    if (upserted.some((k) => k !== 'TemporalChangeVersion')) {
      cost.upserts++;
      cost.billable++;
    }
    if (e.timerStartedEventAttributes) {
      cost.timers++;
      cost.billable++;
    }
  }
  // Markers follow the WorkflowTaskCompleted of the task that recorded them: the last task's close here.
  closeTask();
  return cost;
}

describe('what one delivery costs Temporal (history events, tasks, billable actions)', () => {
  let stack: Stack;
  const receivers: Receiver[] = [];

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  async function deliverOnce(name: string, replies: Reply[]) {
    const receiver = await startReceiver((_req, i) => replies[Math.min(i, replies.length - 1)]!);
    receivers.push(receiver);
    const key = (await stack.createAccount()).api_key;
    const d = await stack.call('POST', '/v1/destinations', { token: key, body: { url: receiver.url, event_types: ['call_completed'], retry_schedule_s: [0, 0.2] } });
    assert.equal(d.status, 201);
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_cost_${name}`) });
    const id = res.body.deliveries[0].id as string;
    const state = await settled<any>(stack, key, id);
    const history = await stack.client.workflow.getHandle(id).fetchHistory();
    const cost = costOf(history.events ?? []);
    process.stdout.write(`# delivery cost, ${name}: ${JSON.stringify(cost)}\n`);
    return { state, cost, events: history.events ?? [] };
  }

  test('happy path (200): one workflow task, no activity task, at most 12 history events and 3 billable actions', async () => {
    const { state, cost } = await deliverOnce('happy', [{ status: 200, body: 'ok' }]);
    assert.equal(state.status, 'delivered');
    // The audit log is whole: the attempt's request and response are in the API, from the run's history.
    assert.equal(state.attempts.length, 1);
    assert.equal(state.attempts[0].response.status, 200);
    assert.equal(state.attempts[0].request.method, 'POST');
    assert.equal(cost.workflowTasks, 1);
    assert.equal(cost.activityTasks, 0);
    assert.equal(cost.localAttempts, 1, 'the attempt is a local-activity marker in the run history');
    assert.equal(cost.upserts, 1, 'only the final status is upserted (pending is set at start)');
    assert.ok(cost.events <= 12, `${cost.events} history events`);
    assert.ok(cost.billable <= 3, `${cost.billable} billable actions`);
  });

  test('one retry (503, then 200): the retry is an ordinary activity after a durable timer', async () => {
    const { state, cost } = await deliverOnce('one-retry', [{ status: 503 }, { status: 200, body: 'ok' }]);
    assert.equal(state.status, 'delivered');
    assert.deepEqual(state.attempts.map((a: any) => [a.n, a.response.status]), [[1, 503], [2, 200]]);
    assert.equal(cost.localAttempts, 1);
    assert.equal(cost.activityTasks, 1);
    assert.equal(cost.timers, 1);
    // retrying (a status search needs it), then delivered.
    assert.equal(cost.upserts, 2);
    assert.ok(cost.billable <= 6, `${cost.billable} billable actions`);
  });
});
