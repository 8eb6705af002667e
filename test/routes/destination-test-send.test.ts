import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { eventDataSchemas, eventTypes } from '../../src/events/catalog.ts';
import { sampleEvent } from '../../src/events/samples.ts';
import { startDeliveryStack, type DeliveryStack } from '../support/delivery-stack.ts';
import type { Receiver } from '../support/receiver.ts';
import { eventually, settled } from '../support/stack.ts';
import { createDestination } from '../support/resources.ts';

describe('POST /v1/destinations/:id/test', () => {
  let stack: DeliveryStack;
  let receiver: Receiver;
  let key: string;
  before(async () => {
    stack = await startDeliveryStack();
    ({ receiver, account: { api_key: key } } = stack);
  });
  after(() => stack.stop());

  const create = (path: string, body: Record<string, unknown> = {}) => createDestination(stack, key, { url: `${receiver.url}${path}`, ...body });

  test('sends the catalog sample to this destination only, signed, with X-VoiceOI-Test: true, past its filter', async () => {
    // The filter would refuse every event: a test send does not go through it.
    const target = await create('/target', { filter: 'false' });
    const other = await create('/other');
    const res = await stack.call('POST', `/v1/destinations/${target.id}/test`, { token: key, body: { event_type: 'call_completed' } });
    assert.equal(res.status, 202);
    assert.match(res.body.delivery.id, new RegExp(`^delivery:${target.id}:test_[a-z0-9]+$`));

    const delivery = await settled(stack, key, res.body.delivery.id);
    assert.equal(delivery.status, 'delivered');
    assert.equal(receiver.requests.length, 1);
    const [req] = receiver.requests;
    assert.equal(req!.url, '/target');
    assert.ok(!receiver.requests.some((r) => r.url === '/other'), `nothing reached ${other.id}`);
    assert.equal(req!.headers['x-voiceoi-test'], 'true');
    const verified = new Webhook(target.signing_secret).verify(req!.body, {
      'webhook-id': String(req!.headers['webhook-id']),
      'webhook-timestamp': String(req!.headers['webhook-timestamp']),
      'webhook-signature': String(req!.headers['webhook-signature']),
    }) as { id: string; type: string; data: unknown };
    assert.equal(verified.type, 'call_completed');
    assert.ok(verified.id.startsWith('test_'));
    assert.deepEqual(verified.data, sampleEvent('call_completed', 'x', 'y').data);

    // Findable with the other deliveries; a second test is its own delivery with a fresh event id.
    const listed = await eventually(async () => {
      const r = await stack.call('GET', `/v1/deliveries?destination_id=${target.id}`, { token: key });
      return r.body.items?.some((i: { id: string }) => i.id === res.body.delivery.id) ? r.body : undefined;
    }, 'the test delivery in GET /v1/deliveries');
    assert.ok(listed);
    const second = await stack.call('POST', `/v1/destinations/${target.id}/test`, { token: key, body: { event_type: 'call_completed' } });
    assert.notEqual(second.body.delivery.id, res.body.delivery.id);
    await settled(stack, key, second.body.delivery.id);
  });

  test('an ordinary delivery carries no X-VoiceOI-Test header', async () => {
    const d = await create('/plain');
    const ev = sampleEvent('call_completed', 'evt_not_a_test', new Date().toISOString());
    const res = await stack.call('POST', '/v1/events', { token: key, body: ev });
    const id = res.body.deliveries.find((x: { destination_id: string }) => x.destination_id === d.id).id;
    assert.equal((await settled(stack, key, id)).status, 'delivered');
    const req = receiver.requests.find((r) => r.headers['x-voiceoi-delivery'] === id);
    assert.ok(req);
    assert.equal(req.headers['x-voiceoi-test'], undefined);
  });

  test('refuses an unknown event type (400), a disabled destination (409) and another account’s destination (404)', async () => {
    const d = await create('/refusals');
    const unknown = await stack.call('POST', `/v1/destinations/${d.id}/test`, { token: key, body: { event_type: 'call_exploded' } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /event_type/);

    await stack.call('PATCH', `/v1/destinations/${d.id}`, { token: key, body: { enabled: false } });
    const disabled = await stack.call('POST', `/v1/destinations/${d.id}/test`, { token: key, body: { event_type: 'call_completed' } });
    assert.equal(disabled.status, 409);
    assert.equal(disabled.body.code, 'destination_disabled');

    const other = (await stack.createAccount('Other')).api_key;
    const foreign = await stack.call('POST', `/v1/destinations/${d.id}/test`, { token: other, body: { event_type: 'call_completed' } });
    assert.equal(foreign.status, 404);
  });

  test('the OpenAPI document describes the test route and the delivery-control fields', async () => {
    const doc = (await stack.call('GET', '/openapi.json')).body;
    assert.ok(doc.paths['/v1/destinations/{id}/test']?.post, 'POST /v1/destinations/{id}/test');
    const create = JSON.stringify(doc.paths['/v1/destinations'].post.requestBody);
    for (const field of ['rate_limit_per_s', 'ordering', 'filter']) assert.ok(create.includes(`"${field}"`), field);
  });

  test('every catalog type has a sample its own schema accepts', () => {
    for (const type of eventTypes) {
      const parsed = eventDataSchemas[type].safeParse(sampleEvent(type, 'id', '2025-01-01T00:00:00Z').data);
      assert.ok(parsed.success, `${type}: ${parsed.error?.message}`);
    }
  });
});
