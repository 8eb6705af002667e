import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDeliveryStack, type DeliveryStack } from '../support/delivery-stack.ts';
import type { Receiver } from '../support/receiver.ts';
import { settled } from '../support/stack.ts';
import { callCompleted } from '../support/events.ts';
import { createDestination } from '../support/resources.ts';

describe('GET /v1/deliveries/:id/event: the event a delivery carried, read from its workflow input', () => {
  let stack: DeliveryStack;
  let receiver: Receiver;
  let key: string;
  let accountId: string;
  let other: string;
  before(async () => {
    stack = await startDeliveryStack();
    ({ receiver, account: { api_key: key, id: accountId } } = stack);
    other = (await stack.createAccount('B')).api_key;
  });
  after(() => stack.stop());

  test('answers the envelope as accepted, with the account it belongs to; another account gets 404', async () => {
    const d = await createDestination(stack, key, { url: receiver.url, retry_schedule_s: [0] });
    const sent = callCompleted('evt_carried', { lead_id: 'lead-77', disposition: 'sale' });
    const res = await stack.call('POST', '/v1/events', { token: key, body: sent });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = res.body.deliveries[0].id as string;
    await settled(stack, key, id);

    const r = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}/event`, { token: key });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { ...sent, account_id: accountId });

    const foreign = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}/event`, { token: other });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.code, 'delivery_not_found');
    assert.equal((await stack.call('GET', `/v1/deliveries/${encodeURIComponent(`delivery:${d.id}:nope`)}/event`, { token: key })).status, 404);
  });

  test('the OpenAPI document describes it', async () => {
    const openapi = (await stack.call('GET', '/openapi.json')).body;
    assert.match(JSON.stringify(openapi.paths['/v1/deliveries/{id}/event']?.get?.responses?.['200']), /The event envelope the delivery carries/);
  });
});
