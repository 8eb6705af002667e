import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { countHistory, totalActions } from '../../bench/lib/history-count.ts';
import { recordsAttempt } from '../../src/deliveries/runs.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver, type Reply } from '../support/receiver.ts';
import { createDestination, createMapping } from '../support/resources.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';

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

  async function deliverOnce(name: string, replies: Reply[], opts: { mapping?: string } = {}) {
    const receiver = await startReceiver((_req, i) => replies[Math.min(i, replies.length - 1)]!);
    receivers.push(receiver);
    const key = (await stack.createAccount()).api_key;
    const mapping = opts.mapping ? await createMapping(stack, key, { source: opts.mapping }) : undefined;
    await createDestination(stack, key, { url: receiver.url, retry_schedule_s: [0, 0.2], ...(mapping ? { mapping_id: mapping.id } : {}) });
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_cost_${name}`) });
    const id = res.body.deliveries[0].id as string;
    const state = await settled<any>(stack, key, id);
    const history = await stack.client.workflow.getHandle(id).fetchHistory();
    // Counted the way the cost bench counts (Temporal Cloud's published definition of an action).
    const cost = countHistory(history);
    // The counter reads every local activity's marker alike; the attempt's own are the audit log.
    const localAttempts = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes && recordsAttempt(e)).length;
    process.stdout.write(`# delivery cost, ${name}: ${JSON.stringify({ ...cost, localAttempts, billable: totalActions(cost) })}\n`);
    return { state, cost, localAttempts, billable: totalActions(cost) };
  }

  test('happy path (200): one workflow task, no activity task, at most 9 history events and 3 billable actions', async () => {
    const { state, cost, localAttempts, billable } = await deliverOnce('happy', [{ status: 200, body: 'ok' }]);
    assert.equal(state.status, 'delivered');
    // The audit log is whole: the attempt's request and response are in the API, from the run's history.
    assert.equal(state.attempts.length, 1);
    assert.equal(state.attempts[0].response.status, 200);
    assert.equal(state.attempts[0].request.method, 'POST');
    assert.equal(cost.workflowTasks, 1);
    assert.equal(cost.activityTasks, 0);
    assert.equal(localAttempts, 1, 'the attempt is a local-activity marker in the run history');
    assert.equal(cost.localActivityMarkers, 1, 'without a mapping the envelope is sent as is: no transform marker');
    assert.deepEqual(state.transform, { mapping: null, request: { method: 'POST', body: state.transform.request.body }, duration_ms: 0 });
    assert.equal(cost.actions['search-attribute upsert'], 1, 'only the final status is upserted (pending is set at start)');
    assert.ok(cost.events <= 9, `${cost.events} history events`);
    assert.ok(billable <= 3, `${billable} billable actions`);
  });

  test('happy path with a mapping: the transform is one more marker in the same workflow task, no more actions', async () => {
    const { state, cost, localAttempts, billable } = await deliverOnce('mapped', [{ status: 200, body: 'ok' }], { mapping: '{"call": data.call_id}' });
    assert.equal(state.status, 'delivered');
    assert.equal(state.transform.mapping.version, 1);
    assert.equal(cost.workflowTasks, 1);
    assert.equal(cost.activityTasks, 0);
    assert.equal(localAttempts, 1);
    assert.equal(cost.localActivityMarkers, 2, 'the transform, recorded beside the attempt');
    assert.ok(cost.events <= 10, `${cost.events} history events`);
    assert.ok(billable <= 3, `${billable} billable actions`);
  });

  test('one retry (503, then 200): the retry is an ordinary activity after a durable timer', async () => {
    const { state, cost, localAttempts, billable } = await deliverOnce('one-retry', [{ status: 503 }, { status: 200, body: 'ok' }]);
    assert.equal(state.status, 'delivered');
    assert.deepEqual(state.attempts.map((a: any) => [a.n, a.response.status]), [[1, 503], [2, 200]]);
    assert.equal(localAttempts, 1);
    assert.equal(cost.activityTasks, 1);
    assert.equal(cost.timers, 1);
    // retrying (a status search needs it), then delivered.
    assert.equal(cost.actions['search-attribute upsert'], 2);
    assert.ok(billable <= 6, `${billable} billable actions`);
  });
});
