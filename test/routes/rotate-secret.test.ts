import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { callCompleted } from '../support/events.ts';
import { startDeliveryStack, type DeliveryStack } from '../support/delivery-stack.ts';
import type { ReceivedRequest, Receiver } from '../support/receiver.ts';
import { createDestination } from '../support/resources.ts';

/** Whether a Standard Webhooks receiver holding `secret` accepts this request. */
function accepts(secret: string, req: ReceivedRequest): boolean {
  try {
    new Webhook(secret).verify(req.body, req.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

describe('signing-secret rotation', () => {
  let stack: DeliveryStack;
  let receiver: Receiver;
  let token: string;
  let other: string;
  before(async () => {
    stack = await startDeliveryStack();
    ({ receiver, account: { api_key: token } } = stack);
    other = (await stack.createAccount('B')).api_key;
  });
  after(() => stack.stop());

  const deliver = async (id: string) => {
    const n = receiver.requests.length;
    const r = await stack.call('POST', '/v1/events', { token, body: callCompleted(id) });
    assert.equal(r.status, 202);
    return (await receiver.waitFor(n + 1))[n]!;
  };

  test('old and new secrets both verify during the grace period; only the new one after it', async () => {
    const d = await createDestination(stack, token, { url: receiver.url });
    const oldSecret = d.signing_secret;

    const before = await deliver('rot-before');
    assert.ok(accepts(oldSecret, before));

    const rotated = await stack.call('POST', `/v1/destinations/${d.id}/rotate-secret`, { token, body: { grace_s: 3 } });
    assert.equal(rotated.status, 200);
    const newSecret: string = rotated.body.signing_secret;
    assert.match(newSecret, /^whsec_/);
    assert.notEqual(newSecret, oldSecret);
    const graceEnds = Date.parse(rotated.body.previous_valid_until);
    assert.ok(graceEnds > Date.now());
    assert.ok(!accepts(newSecret, before), 'the new secret did not sign what was sent before it existed');

    const during = await deliver('rot-during');
    assert.equal(during.headers['webhook-signature']!.toString().split(' ').length, 2, 'one signature per valid secret');
    assert.equal(during.headers['x-voiceoi-signature'], during.headers['webhook-signature']);
    assert.ok(accepts(oldSecret, during), 'a receiver still on the old secret accepts');
    assert.ok(accepts(newSecret, during), 'a receiver already on the new secret accepts');

    await new Promise((r) => setTimeout(r, Math.max(0, graceEnds - Date.now() + 200)));
    const afterGrace = await deliver('rot-after');
    assert.equal(afterGrace.headers['webhook-signature']!.toString().split(' ').length, 1);
    assert.ok(accepts(newSecret, afterGrace));
    assert.ok(!accepts(oldSecret, afterGrace), 'the old secret no longer verifies');

    // The secret is shown by rotate only, never by reads.
    const got = await stack.call('GET', `/v1/destinations/${d.id}`, { token });
    const list = await stack.call('GET', '/v1/destinations', { token });
    for (const body of [got.body, list.body]) {
      assert.ok(!JSON.stringify(body).includes(newSecret.slice(6)));
      assert.ok(!JSON.stringify(body).includes(oldSecret.slice(6)));
    }
  });

  test('grace_s 0 retires the old secret at once; another account cannot rotate', async () => {
    const d = await createDestination(stack, token, { url: `${receiver.url}/zero`, event_types: ['transfer_success'] });
    const oldSecret = d.signing_secret;
    const rotated = await stack.call('POST', `/v1/destinations/${d.id}/rotate-secret`, { token, body: { grace_s: 0 } });
    assert.equal(rotated.status, 200);
    assert.equal(rotated.body.previous_valid_until, null);
    const signingSecrets = async (id: string) => (await stack.core.store.destinations.getForAttempt(id, new Date()))?.signingSecrets;
    const secrets = (await signingSecrets(d.id)) ?? [];
    assert.deepEqual(secrets, [rotated.body.signing_secret]);
    assert.ok(!secrets.includes(oldSecret));

    const foreign = await stack.call('POST', `/v1/destinations/${d.id}/rotate-secret`, { token: other, body: {} });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.code, 'destination_not_found');
    assert.deepEqual(await signingSecrets(d.id), [rotated.body.signing_secret]);
    const bad = await stack.call('POST', `/v1/destinations/${d.id}/rotate-secret`, { token, body: { grace_s: -1 } });
    assert.equal(bad.status, 400);
  });
});
