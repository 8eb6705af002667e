import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callCompleted } from '../support/events.ts';
import { startDeliveryStack, type DeliveryStack } from '../support/delivery-stack.ts';
import type { Receiver } from '../support/receiver.ts';
import { settled } from '../support/stack.ts';

describe('destination filter', () => {
  let stack: DeliveryStack;
  let receiver: Receiver;
  let key: string;
  before(async () => {
    stack = await startDeliveryStack();
    ({ receiver, account: { api_key: key } } = stack);
  });
  after(() => stack.stop());

  const create = (body: Record<string, unknown>) =>
    stack.call('POST', '/v1/destinations', { token: key, body: { url: `${receiver.url}/hook`, event_types: ['call_completed'], ...body } });

  test('an event the filter does not pass starts no delivery to that destination and is absent from `deliveries`', async () => {
    const long = await create({ filter: 'data.duration_s > 60' });
    const all = await create({});
    assert.equal(long.status, 201);
    assert.equal(long.body.filter, 'data.duration_s > 60');

    const short = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_short', { duration_s: 12 }) });
    assert.equal(short.status, 202);
    assert.deepEqual(short.body.deliveries.map((d: { destination_id: string }) => d.destination_id), [all.body.id]);

    const longCall = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_long', { duration_s: 600 }) });
    assert.deepEqual(longCall.body.deliveries.map((d: { destination_id: string }) => d.destination_id).sort(), [long.body.id, all.body.id].sort());
    for (const d of longCall.body.deliveries) assert.equal((await settled(stack, key, d.id)).status, 'delivered');
    await settled(stack, key, short.body.deliveries[0].id);

    // The filtered-out pair was never started: Temporal has no such delivery.
    const missing = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(`delivery:${long.body.id}:evt_short`)}`, { token: key });
    assert.equal(missing.status, 404);
    const reached = receiver.requests.map((r) => `${r.headers['x-voiceoi-delivery']}`);
    assert.ok(!reached.includes(`delivery:${long.body.id}:evt_short`));
    assert.ok(reached.includes(`delivery:${long.body.id}:evt_long`));

    // A duplicate of the filtered event gets the same answer: the filter decided once, at first sight.
    const again = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_short', { duration_s: 12 }) });
    assert.deepEqual(again.body.deliveries, short.body.deliveries);
  });

  test('truthiness is JSONata’s: an empty string, 0, an empty array and no match all filter the event out', async () => {
    const ids: Record<string, string> = {};
    for (const [name, filter] of Object.entries({ emptyString: '""', zero: '0', emptyArray: '[]', noMatch: 'data.no_such_field', yes: '"x"' })) {
      ids[name] = (await create({ filter })).body.id;
    }
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_truthy') });
    const reached = new Set(res.body.deliveries.map((d: { destination_id: string }) => d.destination_id));
    assert.ok(reached.has(ids.yes));
    for (const name of ['emptyString', 'zero', 'emptyArray', 'noMatch']) assert.ok(!reached.has(ids[name]), name);
  });

  test('a filter that fails at run time delivers the event (nothing is lost)', async () => {
    // $error raises at evaluation; the filter parses, so it is accepted at upload.
    const broken = await create({ filter: '$error("boom")' });
    assert.equal(broken.status, 201);
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_broken_filter') });
    assert.ok(res.body.deliveries.some((d: { destination_id: string }) => d.destination_id === broken.body.id));
  });

  test('a syntax error answers 400 with the line and column, on create and on patch', async () => {
    const bad = await create({ filter: 'data.duration_s >\n  (60' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'invalid_filter');
    assert.equal(typeof bad.body.line, 'number');
    assert.equal(typeof bad.body.column, 'number');
    assert.equal(bad.body.line, 2);
    assert.match(bad.body.message, /^filter: line 2, column \d+: /);

    const ok = await create({});
    const patched = await stack.call('PATCH', `/v1/destinations/${ok.body.id}`, { token: key, body: { filter: 'data.(' } });
    assert.equal(patched.status, 400);
    assert.equal(patched.body.code, 'invalid_filter');
    assert.equal(patched.body.line, 1);
    assert.equal((await stack.call('GET', `/v1/destinations/${ok.body.id}`, { token: key })).body.filter, null);

    const cleared = await stack.call('PATCH', `/v1/destinations/${ok.body.id}`, { token: key, body: { filter: 'type = "call_completed"' } });
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.filter, 'type = "call_completed"');
  });

  test('rate_limit_per_s and ordering are stored, shown and bounded', async () => {
    const d = await create({ rate_limit_per_s: 5, ordering: 'per_call' });
    assert.equal(d.status, 201);
    assert.equal(d.body.rate_limit_per_s, 5);
    assert.equal(d.body.ordering, 'per_call');
    const plain = await create({});
    assert.equal(plain.body.rate_limit_per_s, null);
    assert.equal(plain.body.ordering, 'none');
    for (const body of [{ rate_limit_per_s: 0 }, { rate_limit_per_s: 10_001 }, { rate_limit_per_s: 1.5 }, { ordering: 'per_lead' }]) {
      assert.equal((await create(body)).status, 400, JSON.stringify(body));
    }
    const unlimited = await stack.call('PATCH', `/v1/destinations/${d.body.id}`, { token: key, body: { rate_limit_per_s: null, ordering: 'none' } });
    assert.equal(unlimited.body.rate_limit_per_s, null);
    assert.equal(unlimited.body.ordering, 'none');
  });
});
