import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { createDestination } from '../support/resources.ts';

// A run can still end without a result (an operator terminates it, a bug fails it): its status
// attribute then says what it was doing, never a final status. The API must not show it pending forever.
describe('a delivery whose run ended without a result', () => {
  let stack: Stack;
  let receiver: Receiver;
  let healthy = false;
  const run = randomBytes(4).toString('hex');

  before(async () => {
    stack = await startStack();
    receiver = await startReceiver(() => (healthy ? { status: 204 } : { status: 503 }));
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  test('reads failed with the reason, is listed as failed, and recover replays it', async () => {
    const key = (await stack.createAccount()).api_key;
    const d = await createDestination(stack, key, { url: receiver.url, retry_schedule_s: [0, 3600] });
    const since = new Date(Date.now() - 1000).toISOString();
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_ended_${run}`) });
    const id = res.body.deliveries[0].id as string;
    const get = () => stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}`, { token: key });
    await eventually(async () => (await get()).body.status === 'retrying', 'the first attempt to fail');
    const terminating = Date.now();
    await stack.client.workflow.getHandle(id).terminate('operator stopped it');
    const terminated = Date.now();

    const ended = await get();
    assert.equal(ended.status, 200, JSON.stringify(ended.body));
    assert.equal(ended.body.status, 'failed');
    assert.equal(ended.body.workflow.status, 'TERMINATED');
    assert.match(ended.body.reason, /ended terminated without finishing/);
    assert.equal(ended.body.attempts.length, 1, 'the attempt it made is still in the log');
    assert.equal(ended.body.next_attempt_at, undefined);
    // Failed when Temporal closed the run, not when the last attempt ended (an hour before its retry).
    const closed = (await stack.client.workflow.getHandle(id).describe()).closeTime!;
    assert.equal(ended.body.failed_at, closed.toISOString());
    assert.ok(terminating - 1000 <= closed.getTime() && closed.getTime() <= terminated + 1000, `closed at ${closed.toISOString()}`);

    await eventually(async () => {
      const r = await stack.call('GET', `/v1/deliveries?destination_id=${d.id}&status=failed`, { token: key });
      return r.body.items?.length === 1 && r.body.items[0].status === 'failed';
    }, 'the listing of failed deliveries to hold it');
    const retrying = await stack.call('GET', `/v1/deliveries?destination_id=${d.id}&status=retrying`, { token: key });
    assert.deepEqual(retrying.body.items, [], 'its stale status attribute does not list it as retrying');

    healthy = true;
    const r = await stack.call('POST', `/v1/destinations/${d.id}/recover`, { token: key, body: { since } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.deliveries, [id]);
    const replayed = await eventually(async () => {
      const b = (await get()).body;
      return b.status === 'delivered' ? b : undefined;
    }, 'the replay to deliver');
    assert.deepEqual(replayed.attempts.map((a: any) => a.n), [2], 'the replay numbers on after the terminated run');
  });
});
