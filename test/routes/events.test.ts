import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { startDeliveryStack, type DeliveryStack } from '../support/delivery-stack.ts';
import type { Receiver } from '../support/receiver.ts';
import { settled } from '../support/stack.ts';
import { callCompleted } from '../support/events.ts';
import { createDestination } from '../support/resources.ts';

describe('POST /v1/events', () => {
  let stack: DeliveryStack;
  let receiver: Receiver;
  let key: string;
  let destination: { id: string; signing_secret: string };

  before(async () => {
    stack = await startDeliveryStack();
    ({ receiver, account: { api_key: key } } = stack);
    destination = await createDestination(stack, key, { url: `${receiver.url}/crm/hooks` });
  });
  after(() => stack.stop());

  test('delivers a signed event that a Standard Webhooks library verifies with the destination secret', async () => {
    const event = callCompleted('evt_signed');
    const res = await stack.call('POST', '/v1/events', { token: key, body: event });
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, {
      event_id: 'evt_signed',
      deliveries: [{ id: `delivery:${destination.id}:evt_signed`, destination_id: destination.id }],
    });
    const [req] = await receiver.waitFor(1);
    assert.ok(req);
    assert.equal(req.url, '/crm/hooks');
    assert.equal(req.headers['webhook-id'], 'evt_signed');
    assert.equal(req.headers['x-voiceoi-event'], 'call_completed');
    assert.equal(req.headers['x-voiceoi-delivery'], `delivery:${destination.id}:evt_signed`);
    assert.equal(req.headers['x-voiceoi-attempt'], '1');
    assert.equal(req.headers['x-voiceoi-signature'], req.headers['webhook-signature']);
    assert.match(String(req.headers['user-agent']), /^VoiceOI-Hooks\/\d+\.\d+\.\d+/);
    const verified = new Webhook(destination.signing_secret).verify(req.body, {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    }) as { id: string; data: { lead_id: string } };
    assert.equal(verified.id, 'evt_signed');
    assert.equal(verified.data.lead_id, '884');
    // A different secret must not verify: the signature really depends on the secret.
    assert.throws(() =>
      new Webhook('whsec_' + Buffer.alloc(32, 1).toString('base64')).verify(req.body, {
        'webhook-id': String(req.headers['webhook-id']),
        'webhook-timestamp': String(req.headers['webhook-timestamp']),
        'webhook-signature': String(req.headers['webhook-signature']),
      }),
    );

    const delivery = await settled<any>(stack, key, res.body.deliveries[0]!.id);
    assert.equal(delivery.status, 'delivered');
    assert.equal(delivery.attempts.length, 1);
    assert.equal(delivery.attempts[0].response.status, 200);
    assert.equal(delivery.event_id, 'evt_signed');
  });

  test('the same event id sent again, or 20 times at once, reaches the receiver exactly once', async () => {
    const before = receiver.requests.length;
    const event = callCompleted('evt_dupe');
    const first = await stack.call('POST', '/v1/events', { token: key, body: event });
    assert.equal(first.status, 202);
    const again = await stack.call('POST', '/v1/events', { token: key, body: event });
    assert.deepEqual(again.body, first.body);

    const burst = callCompleted('evt_burst');
    const answers = await Promise.all(Array.from({ length: 20 }, () => stack.call('POST', '/v1/events', { token: key, body: burst })));
    for (const a of answers) {
      assert.equal(a.status, 202);
      assert.deepEqual(a.body, answers[0]!.body);
    }
    await receiver.waitFor(before + 2);
    // Give any wrongly started duplicate time to arrive before counting.
    await new Promise((r) => setTimeout(r, 1500));
    const ids = receiver.requests.slice(before).map((r) => r.headers['webhook-id']);
    assert.deepEqual(ids.sort(), ['evt_burst', 'evt_dupe']);
  });

  test('an event no destination subscribes to is accepted with no deliveries', async () => {
    const res = await stack.call('POST', '/v1/events', {
      token: key,
      body: { id: 'evt_voice', type: 'voice_detected', occurred_at: '2026-11-27T10:00:00Z', data: { call_id: 'c1', channel: 'caller', at_s: 1.2 } },
    });
    assert.equal(res.status, 202);
    assert.deepEqual(res.body.deliveries, []);
  });

  describe('bad input gets a precise error', () => {
    test('malformed JSON: 400 invalid_json', async () => {
      const r = await stack.call('POST', '/v1/events', { token: key, raw: '{"id": "x", ' });
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'invalid_json');
    });
    test('an unknown event type: 400 naming the type field and the known types', async () => {
      const r = await stack.call('POST', '/v1/events', { token: key, body: { ...callCompleted('e'), type: 'call_exploded' } });
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'validation_error');
      assert.match(r.body.message, /type/);
      assert.match(r.body.message, /call_completed/);
    });
    test('a missing or wrong field: 400 with the field path', async () => {
      const ev = callCompleted('e2') as any;
      delete ev.data.call_id;
      ev.data.duration_s = 'long';
      const r = await stack.call('POST', '/v1/events', { token: key, body: ev });
      assert.equal(r.status, 400);
      const paths = r.body.issues.map((i: { path: string }) => i.path);
      assert.ok(paths.includes('data.call_id'), JSON.stringify(r.body));
      assert.ok(paths.includes('data.duration_s'), JSON.stringify(r.body));
    });
    test('a bad occurred_at: 400 naming it', async () => {
      const r = await stack.call('POST', '/v1/events', { token: key, body: { ...callCompleted('e3'), occurred_at: 'yesterday' } });
      assert.equal(r.status, 400);
      assert.ok(r.body.issues.some((i: { path: string }) => i.path === 'occurred_at'));
    });
    test('a body over 1 MiB: 413', async () => {
      const big = callCompleted('e4', { summary: 'x'.repeat(1024 * 1024) });
      const r = await stack.call('POST', '/v1/events', { token: key, body: big });
      assert.equal(r.status, 413);
      assert.equal(r.body.code, 'payload_too_large');
    });
    test('a missing or wrong key: 401', async () => {
      const none = await stack.call('POST', '/v1/events', { body: callCompleted('e5') });
      assert.equal(none.status, 401);
      assert.equal(none.body.code, 'unauthorized');
      const wrong = await stack.call('POST', '/v1/events', { token: 'vk_not_a_key', body: callCompleted('e5') });
      assert.equal(wrong.status, 401);
    });
    test('an event id outside 1–200 of A-Z a-z 0-9 . _ : ~ - (it becomes the webhook-id header): 400 naming the id', async () => {
      for (const bad of ['evt 1', 'evt\r\nx-injected: 1', 'évènement', 'evt/1', 'evt"1', '', 'e'.repeat(201)]) {
        const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(bad, { call_id: 'call_1' }) });
        assert.equal(r.status, 400, JSON.stringify(bad));
        assert.equal(r.body.code, 'validation_error');
        assert.deepEqual(r.body.issues.map((i: { path: string }) => i.path), ['id'], JSON.stringify(r.body));
        assert.match(r.body.message, bad.length === 0 || bad.length > 200 ? /^id: must be 1 to 200 characters/ : /^id: may contain only letters A-Z and a-z, digits and \. _ : ~ -/);
      }
      const ok = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('crm.lead-884:call_7~2') });
      assert.equal(ok.status, 202, JSON.stringify(ok.body));
      assert.equal((await settled(stack, key, ok.body.deliveries[0].id)).status, 'delivered');
      assert.ok(receiver.requests.some((r) => r.headers['webhook-id'] === 'crm.lead-884:call_7~2'));
    });
    test('the OpenAPI document states the event id pattern', async () => {
      const doc = (await stack.call('GET', '/openapi.json')).body;
      assert.ok(JSON.stringify(doc).includes(JSON.stringify('^[A-Za-z0-9._:~-]{1,200}$')), 'pattern in /openapi.json');
    });
    test('JSON nested deeper than 64 levels: 400 json_too_deep, and nothing of it was recorded', async () => {
      const nested = (levels: number) => JSON.parse('['.repeat(levels) + ']'.repeat(levels)) as unknown;
      // The envelope and `data` are two levels: 62 more is the deepest accepted body.
      const deepest = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_depth_64', { extra: nested(62) }) });
      assert.equal(deepest.status, 202, JSON.stringify(deepest.body));
      const tooDeep = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_depth_65', { extra: nested(63) }) });
      assert.equal(tooDeep.status, 400);
      assert.equal(tooDeep.body.code, 'json_too_deep');
      assert.match(tooDeep.body.message, /64 levels/);

      const levels = 100_000;
      const body = JSON.stringify(callCompleted('evt_deep')).replace('"disposition":"qualified"', `"disposition":"qualified","extra":${'['.repeat(levels)}${']'.repeat(levels)}`);
      const deep = await stack.call('POST', '/v1/events', { token: key, raw: body });
      assert.equal(deep.status, 400, JSON.stringify(deep.body));
      assert.equal(deep.body.code, 'json_too_deep');
      // Brackets inside strings are text, not nesting.
      const text = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_brackets', { summary: '['.repeat(1000) + '{'.repeat(1000) }) });
      assert.equal(text.status, 202, JSON.stringify(text.body));

      // The refused id was never claimed: the same id sent correctly is a new event, delivered.
      const before = receiver.requests.length;
      const fixed = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_deep') });
      assert.equal(fixed.status, 202);
      assert.equal(fixed.body.deliveries.length, 1);
      assert.equal((await settled(stack, key, fixed.body.deliveries[0].id)).status, 'delivered');
      await receiver.waitFor(before + 1);
      assert.ok(receiver.requests.slice(before).some((r) => r.headers['webhook-id'] === 'evt_deep'));
    });
    test('an account_id that is not the key’s account: 400', async () => {
      const r = await stack.call('POST', '/v1/events', { token: key, body: { ...callCompleted('e6'), account_id: 'acc_someone_else' } });
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'account_mismatch');
    });
  });
});
