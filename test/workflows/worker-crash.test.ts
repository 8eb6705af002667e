import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { schedulesAttempt } from '../../src/activities/names.ts';
import { recordsAttempt } from '../../src/deliveries/runs.ts';
import { attemptTimeoutMs } from '../../workflows/attempt-limits.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver, type Reply } from '../support/receiver.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';
import { spawnWorker, type ProductProcess } from '../support/product-process.ts';

describe('a worker that crashes mid-attempt loses no delivery', () => {
  let stack: Stack;
  const receivers: Receiver[] = [];
  let crashed: ProductProcess | undefined;
  const run = randomBytes(4).toString('hex');
  const timeout_ms = 1000;

  before(async () => {
    // No worker in this process: the attempt runs in a child process that the test kills.
    stack = await startStack({}, { worker: false });
  });
  after(async () => {
    await crashed?.kill();
    await stack.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  /** A destination whose receiver never answers request number `hangs` (0-based) and answers the others from `replies`. */
  async function destinationHangingAt(hangs: number, replies: Reply[]) {
    const receiver = await startReceiver((_req, i) => (i === hangs ? new Promise<never>(() => {}) : replies[Math.min(i, replies.length - 1)]!));
    receivers.push(receiver);
    const key = (await stack.createAccount()).api_key;
    const d = await stack.call('POST', '/v1/destinations', { token: key, body: { url: receiver.url, event_types: ['call_completed'], timeout_ms, retry_schedule_s: [0, 0, 0] } });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    return { receiver, key, destinationId: d.body.id as string };
  }

  /** Sends the event to a worker process, kills it -9 once the receiver holds request `n`, and starts an in-process worker. */
  async function crashDuringRequest(key: string, receiver: Receiver, eventId: string, n: number): Promise<string> {
    await stack.stopWorker();
    crashed = await spawnWorker(stack);
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(eventId) });
    assert.equal(res.status, 202);
    await receiver.waitFor(n);
    await crashed.kill();
    crashed = undefined;
    await stack.startWorker();
    return res.body.deliveries[0].id as string;
  }

  const limit = attemptTimeoutMs({ timeout_ms, connection_id: null });
  const msOf = (t: { seconds?: unknown; nanos?: number | null }) => Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6);

  test('kill -9 during the first attempt (a local activity): its workflow task times out, the attempt runs again as an activity and delivers', async () => {
    const { receiver, key } = await destinationHangingAt(0, [{ status: 200, body: 'ok' }]);
    const id = await crashDuringRequest(key, receiver, `evt_crash_first_${run}`, 1);

    const state = await settled<any>(stack, key, id, 60_000);
    assert.equal(state.status, 'delivered', JSON.stringify(state));
    // The lost try never returned to the workflow, so it left no record: the rerun is attempt 1 again
    // (same webhook-id and attempt number: the receiver can tell it is a repeat).
    assert.equal(state.attempts.length, 1);
    assert.equal(state.attempts[0].n, 1);
    assert.equal(state.attempts[0].verdict, 'delivered');
    assert.equal(state.attempts[0].response.status, 200);
    assert.deepEqual(receiver.requests.map((r) => [r.headers['webhook-id'], r.headers['x-voiceoi-attempt']]), [[`evt_crash_first_${run}`, '1'], [`evt_crash_first_${run}`, '1']]);

    const history = await stack.client.workflow.getHandle(id).fetchHistory();
    assert.ok(history.events!.some((e) => e.workflowTaskTimedOutEventAttributes), 'Temporal timed the lost workflow task out');
    // The rerun is an ordinary activity with the pinned timeout: were it to kill its worker too, it
    // would be recorded as a lost attempt and the schedule would bound the delivery.
    const scheduled = history.events!.filter(schedulesAttempt);
    assert.equal(scheduled.length, 1);
    assert.equal(msOf(scheduled[0]!.activityTaskScheduledEventAttributes!.startToCloseTimeout!), limit);
    assert.equal(history.events!.filter(recordsAttempt).length, 1, 'no local attempt was recorded');
    await eventually(async () => (await stack.client.workflow.getHandle(id).describe()).status.name === 'COMPLETED', 'the workflow to complete');
  });

  test('kill -9 during a later attempt (an activity): it is recorded as a timed-out retryable attempt and the next one delivers', async () => {
    const { receiver, key, destinationId } = await destinationHangingAt(1, [{ status: 503 }, { status: 503 }, { status: 200, body: 'ok' }]);
    const id = await crashDuringRequest(key, receiver, `evt_crash_${run}`, 2);

    const state = await settled<any>(stack, key, id, 60_000);
    assert.equal(state.status, 'delivered', JSON.stringify(state));
    assert.equal(state.attempts.length, 3);
    const [first, lost, delivered] = state.attempts;
    assert.equal(first.n, 1);
    assert.equal(first.response.status, 503);
    assert.equal(lost.n, 2);
    assert.equal(lost.verdict, 'retry');
    assert.equal(lost.error.code, 'attempt_timed_out');
    assert.ok(Date.parse(lost.started_at) <= receiver.requests[1]!.at, 'the lost attempt starts when it was scheduled');
    assert.equal(delivered.n, 3);
    assert.equal(delivered.verdict, 'delivered');
    assert.equal(delivered.response.status, 200);
    assert.deepEqual(receiver.requests.map((r) => r.headers['x-voiceoi-attempt']), ['1', '2', '3']);

    // The attempt was declared lost after the destination's timeout plus the margin, not after 90 s.
    const history = await stack.client.workflow.getHandle(id).fetchHistory();
    const scheduled = history.events!.filter(schedulesAttempt);
    assert.equal(scheduled.length, 2);
    for (const e of scheduled) assert.equal(msOf(e.activityTaskScheduledEventAttributes!.startToCloseTimeout!), limit);
    assert.ok(history.events!.some((e) => e.activityTaskTimedOutEventAttributes), 'Temporal timed the lost attempt out');
    // The workflow completes (it does not fail on the lost attempt).
    await eventually(async () => (await stack.client.workflow.getHandle(id).describe()).status.name === 'COMPLETED', 'the workflow to complete');

    // The listing agrees with the delivery.
    const listed = await eventually(async () => {
      const r = await stack.call('GET', `/v1/deliveries?destination_id=${destinationId}`, { token: key });
      return r.body.items?.[0]?.status === 'delivered' ? r.body.items : undefined;
    }, 'the listing to show delivered');
    assert.equal(listed.length, 1);
  });
});
