import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';
import { callCompleted } from '../support/events.ts';

describe('GET /v1/deliveries/:id/event: the event a delivery carried, read from its workflow input', () => {
  let stack: Stack;
  let receiver: Receiver;
  let key: string;
  let accountId: string;
  let other: string;
  before(async () => {
    stack = await startStack();
    receiver = await startReceiver();
    ({ api_key: key, id: accountId } = await stack.createAccount('A'));
    other = (await stack.createAccount('B')).api_key;
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  test('answers the envelope as accepted, with the account it belongs to; another account gets 404', async () => {
    const d = await stack.call('POST', '/v1/destinations', { token: key, body: { url: receiver.url, event_types: ['call_completed'], retry_schedule_s: [0] } });
    assert.equal(d.status, 201, JSON.stringify(d.body));
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
    assert.equal((await stack.call('GET', `/v1/deliveries/${encodeURIComponent(`delivery:${d.body.id}:nope`)}/event`, { token: key })).status, 404);
  });

  test('the OpenAPI document describes it', async () => {
    const openapi = (await stack.call('GET', '/openapi.json')).body;
    assert.match(JSON.stringify(openapi.paths['/v1/deliveries/{id}/event']?.get?.responses?.['200']), /The event envelope the delivery carries/);
  });
});
