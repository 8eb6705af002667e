import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { schedulesAttempt } from '../../src/activities/names.ts';
import { attemptTimeoutMs } from '../../workflows/attempt-limits.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';
import { spawnWorker, type WorkerProcess } from '../support/worker-process.ts';

describe('a worker that crashes mid-attempt costs one attempt, not the delivery', () => {
  let stack: Stack;
  let receiver: Receiver;
  let crashed: WorkerProcess | undefined;
  const run = randomBytes(4).toString('hex');

  before(async () => {
    // No worker in this process: the attempt runs in a child process that the test kills.
    stack = await startStack({}, { worker: false });
    // The first request is accepted and never answered; the next ones succeed.
    receiver = await startReceiver((_req, i) => (i === 0 ? new Promise<never>(() => {}) : { status: 200, body: 'ok' }));
  });
  after(async () => {
    await crashed?.kill();
    await stack.stop();
    await receiver.close();
  });

  test('kill -9 during attempt 1: attempt 1 is recorded as a timed-out retryable attempt and attempt 2 delivers', async () => {
    const key = (await stack.createAccount()).api_key;
    const timeout_ms = 1000;
    const d = await stack.call('POST', '/v1/destinations', { token: key, body: { url: receiver.url, event_types: ['call_completed'], timeout_ms, retry_schedule_s: [0, 0, 0] } });
    assert.equal(d.status, 201, JSON.stringify(d.body));

    crashed = await spawnWorker(stack);
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_crash_${run}`) });
    assert.equal(res.status, 202);
    const id = res.body.deliveries[0].id as string;
    await receiver.waitFor(1);
    await crashed.kill();
    crashed = undefined;

    await stack.startWorker();
    const state = await settled<any>(stack, key, id, 60_000);
    assert.equal(state.status, 'delivered', JSON.stringify(state));
    assert.equal(state.attempts.length, 2);
    const [lost, delivered] = state.attempts;
    assert.equal(lost.n, 1);
    assert.equal(lost.verdict, 'retry');
    assert.equal(lost.error.code, 'attempt_timed_out');
    assert.ok(Date.parse(lost.started_at) <= receiver.requests[0]!.at, 'the lost attempt starts when it was scheduled');
    assert.equal(delivered.n, 2);
    assert.equal(delivered.verdict, 'delivered');
    assert.equal(delivered.response.status, 200);
    assert.deepEqual(receiver.requests.map((r) => r.headers['x-voiceoi-attempt']), ['1', '2']);

    // The attempt was declared lost after the destination's timeout plus the margin, not after 90 s.
    const history = await stack.client.workflow.getHandle(id).fetchHistory();
    const scheduled = history.events!.filter(schedulesAttempt);
    const limit = attemptTimeoutMs({ timeout_ms, connection_id: null });
    for (const e of scheduled) {
      const t = e.activityTaskScheduledEventAttributes!.startToCloseTimeout!;
      assert.equal(Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6), limit);
    }
    assert.ok(history.events!.some((e) => e.activityTaskTimedOutEventAttributes), 'Temporal timed the lost attempt out');
    // The workflow completes (it does not fail on the lost attempt).
    await eventually(async () => (await stack.client.workflow.getHandle(id).describe()).status.name === 'COMPLETED', 'the workflow to complete');

    // The listing agrees with the delivery.
    const listed = await eventually(async () => {
      const r = await stack.call('GET', `/v1/deliveries?destination_id=${d.body.id}`, { token: key });
      return r.body.items?.[0]?.status === 'delivered' ? r.body.items : undefined;
    }, 'the listing to show delivered');
    assert.equal(listed.length, 1);
  });
});
