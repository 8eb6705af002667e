import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { createDestination } from '../support/resources.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';

describe('GET /v1/deliveries/:id while an attempt is in flight', () => {
  let stack: Stack;
  let receiver: Receiver;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));

  before(async () => {
    stack = await startStack();
    // Holds the first delivery's response until the test has read the delivery.
    receiver = await startReceiver(async () => {
      await held;
      return { status: 200, body: 'ok' };
    });
  });
  after(async () => {
    release();
    await stack.stop();
    await receiver.close();
  });

  test('answers pending at once while the first attempt (a local activity) waits for a slow receiver', async () => {
    const key = (await stack.createAccount()).api_key;
    await createDestination(stack, key, { url: receiver.url });
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_query_slow') });
    assert.equal(res.status, 202);
    const id = res.body.deliveries[0].id as string;
    await receiver.waitFor(1);

    // The receiver still holds the attempt: the answer cannot wait for it to end.
    const during = await stack.call('GET', `/v1/deliveries/${id}`, { token: key });
    assert.equal(during.status, 200);
    assert.equal(during.body.status, 'pending');
    assert.equal(during.body.reason, 'an attempt is in progress');
    assert.deepEqual(during.body.attempts, []);
    assert.equal(during.body.event_id, 'evt_query_slow');

    release();
    const done = await settled<any>(stack, key, id);
    assert.equal(done.status, 'delivered');
    assert.equal(done.attempts.length, 1);
  });
});
