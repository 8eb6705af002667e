import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDeliveryStack, type DeliveryStack } from '../support/delivery-stack.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver } from '../support/receiver.ts';
import { createDestination } from '../support/resources.ts';
import { eventually, settled } from '../support/stack.ts';

describe('every delivery id the API hands out works in its own URLs', () => {
  let stack: DeliveryStack;
  let key: string;
  before(async () => {
    stack = await startDeliveryStack();
    key = stack.account.api_key;
  });
  after(() => stack.stop());

  // 200 characters, the longest event id accepted, with colons (escaped to 3 characters each by a client).
  const longId = (tag: string) => `${tag}:`.padEnd(200, ':x');

  test('GET, /event, /retry and /cancel answer for a delivery of a 200-character event id, escaped or not', async () => {
    const d = await createDestination(stack, key, { url: stack.receiver.url, retry_schedule_s: [0] });
    const eventId = longId('evt_long_done');
    assert.equal(eventId.length, 200);
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(eventId, { call_id: 'call_long_done' }) });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = res.body.deliveries[0].id as string;
    assert.equal(id, `delivery:${d.id}:${eventId}`);
    await settled(stack, key, id);

    for (const path of [encodeURIComponent(id), id]) {
      const got = await stack.call('GET', `/v1/deliveries/${path}`, { token: key });
      assert.equal(got.status, 200, JSON.stringify(got.body));
      assert.equal(got.body.status, 'delivered');
      const event = await stack.call('GET', `/v1/deliveries/${path}/event`, { token: key });
      assert.equal(event.status, 200, JSON.stringify(event.body));
      assert.equal(event.body.id, eventId);
    }
    const retry = await stack.call('POST', `/v1/deliveries/${encodeURIComponent(id)}/retry`, { token: key });
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
  });

  test('a running delivery of a 200-character event id can be cancelled', async () => {
    const failing = await startReceiver(() => ({ status: 503 }));
    try {
      const d = await createDestination(stack, key, { url: failing.url, retry_schedule_s: [0, 600] });
      const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(longId('evt_long_running'), { call_id: 'call_long_running' }) });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const id = (res.body.deliveries as { id: string; destination_id: string }[]).find((x) => x.destination_id === d.id)!.id;
      await eventually(async () => (await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}`, { token: key })).body.status === 'retrying', 'the first attempt to fail');
      const c = await stack.call('POST', `/v1/deliveries/${encodeURIComponent(id)}/cancel`, { token: key });
      assert.equal(c.status, 202, JSON.stringify(c.body));
      assert.equal(c.body.status, 'cancelling');
    } finally {
      await failing.close();
    }
  });
});
