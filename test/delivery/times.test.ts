import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { recordsAttempt } from '../../src/deliveries/runs.ts';
import { schedulesAttempt } from '../../src/activities/names.ts';
import { deliveryId } from '../../src/temporal/delivery-ids.ts';
import { callCompleted } from '../support/events.ts';
import { createDestination } from '../support/resources.ts';
import { startReceiver, type Receiver, type Reply } from '../support/receiver.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';

/** Each moment is at or after the one before it (ISO strings and epoch ms alike, compared as ms). */
function assertInOrder(moments: [string, string | number | undefined][]): void {
  const ms = moments.map(([name, at]) => {
    assert.ok(at !== undefined, `${name} is missing`);
    const t = typeof at === 'number' ? at : Date.parse(at);
    assert.ok(Number.isFinite(t), `${name} is not a time: ${String(at)}`);
    return t;
  });
  for (let i = 1; i < ms.length; i++) {
    const show = moments.map(([name], j) => `${name} ${new Date(ms[j]!).toISOString()}`).join(' ≤ ');
    assert.ok(ms[i - 1]! <= ms[i]!, `${moments[i - 1]![0]} is after ${moments[i]![0]}: ${show}`);
  }
}

describe('delivery times: each is the moment it names', () => {
  let stack: Stack;
  const receivers: Receiver[] = [];

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  /** A fresh account (so an event fans out to this destination only) and a receiver answering `replies` in turn. */
  async function scenario(replies: Reply[], retry_schedule_s: number[]) {
    const receiver = await startReceiver((_req, i) => replies[Math.min(i, replies.length - 1)]!);
    receivers.push(receiver);
    const { api_key: key } = await stack.createAccount();
    const { id: destinationId } = await createDestination(stack, key, { url: receiver.url, retry_schedule_s });
    const deliver = async (eventId: string) => {
      const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(eventId) });
      assert.equal(res.status, 202);
      const id: string = res.body.deliveries[0].id;
      const state = await settled<any>(stack, key, id);
      return { id, state, answeredAt: Date.now() };
    };
    return { receiver, key, destinationId, deliver };
  }

  test('the local first attempt: accepted ≤ started ≤ received ≤ delivered_at = finished ≤ the answer', async () => {
    const { receiver, deliver } = await scenario([{ status: 200 }], [0]);
    const { id, state, answeredAt } = await deliver('evt_times_local');
    assert.equal(state.status, 'delivered');
    const [attempt] = state.attempts;
    // It ran inside the workflow task (no activity scheduled): the case where the workflow's clock is early.
    const history = await stack.client.workflow.getHandle(id).fetchHistory();
    assert.equal(history.events!.filter(recordsAttempt).length, 1);
    assert.equal(history.events!.filter(schedulesAttempt).length, 0);
    assertInOrder([
      ['accepted_at', state.accepted_at],
      ['attempt 1 started_at', attempt.started_at],
      ['receiver got it', receiver.requests[0]!.at],
      ['delivered_at', state.delivered_at],
      ['the API answered', answeredAt],
    ]);
    assert.equal(state.delivered_at, attempt.finished_at);
  });

  test('a later attempt after a 500: each attempt in order, next_attempt_at before the retry, delivered_at its finish', async () => {
    const { receiver, key, destinationId, deliver } = await scenario([{ status: 500 }, { status: 200 }], [0, 3]);
    const pending = deliver('evt_times_retry');
    // While it waits for the retry (3 s, less 10 % jitter at most), next_attempt_at is at least that long after the first attempt ended.
    const retrying = await eventually(async () => {
      const r = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(deliveryId(destinationId, 'evt_times_retry'))}`, { token: key });
      return r.status === 200 && r.body.next_attempt_at ? r.body : undefined;
    }, 'the delivery to wait for its retry');
    const { state, answeredAt } = await pending;
    assert.equal(state.status, 'delivered');
    const [first, second] = state.attempts;
    assert.equal(state.delivered_at, second.finished_at);
    assert.ok(Date.parse(retrying.next_attempt_at) >= Date.parse(retrying.attempts[0].finished_at) + 2700, `next_attempt_at ${retrying.next_attempt_at} is less than 2.7 s after attempt 1 finished (${retrying.attempts[0].finished_at})`);
    assertInOrder([
      ['accepted_at', state.accepted_at],
      ['attempt 1 started_at', first.started_at],
      ['receiver got attempt 1', receiver.requests[0]!.at],
      ['attempt 1 finished_at', first.finished_at],
      ['next_attempt_at', retrying.next_attempt_at],
      ['attempt 2 started_at', second.started_at],
      ['receiver got attempt 2', receiver.requests[1]!.at],
      ['delivered_at', state.delivered_at],
      ['the API answered', answeredAt],
    ]);
  });

  test('failed_at: the refused attempt (400) in the workflow task, and the last attempt when the schedule runs out', async () => {
    const refused = await scenario([{ status: 400 }], [0]);
    const one = await refused.deliver('evt_times_400');
    assert.equal(one.state.status, 'failed');
    assert.equal(one.state.failed_at, one.state.attempts[0].finished_at);
    assertInOrder([
      ['accepted_at', one.state.accepted_at],
      ['attempt 1 started_at', one.state.attempts[0].started_at],
      ['receiver got it', refused.receiver.requests[0]!.at],
      ['failed_at', one.state.failed_at],
      ['the API answered', one.answeredAt],
    ]);

    const exhausted = await scenario([{ status: 502 }], [0, 0.2]);
    const two = await exhausted.deliver('evt_times_exhausted');
    assert.equal(two.state.status, 'failed');
    assert.equal(two.state.attempts.length, 2);
    assert.equal(two.state.failed_at, two.state.attempts[1].finished_at);
    assertInOrder([
      ['receiver got attempt 2', exhausted.receiver.requests[1]!.at],
      ['failed_at', two.state.failed_at],
      ['the API answered', two.answeredAt],
    ]);
  });
});
