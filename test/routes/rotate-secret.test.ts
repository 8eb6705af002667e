import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { callCompleted } from '../support/events.ts';
import { startDeliveryStack, type DeliveryStack } from '../support/delivery-stack.ts';
import { startReceiver, type ReceivedRequest, type Receiver } from '../support/receiver.ts';
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

/**
 * A receiver's ed25519 check as docs/guides/verify-signatures.md shows it: Node's crypto.verify and the public key alone.
 * True when one of the `v1a,` signatures verifies.
 */
function verifiesWith(publicKey: string, req: ReceivedRequest): boolean {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey.slice('whpk_'.length), 'base64').toString('base64url') }, format: 'jwk' });
  const signed = Buffer.from(`${req.headers['webhook-id']}.${req.headers['webhook-timestamp']}.${req.body}`);
  return String(req.headers['webhook-signature'])
    .split(' ')
    .some((s) => s.startsWith('v1a,') && verify(null, signed, key, Buffer.from(s.slice(4), 'base64')));
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

  test('ed25519: receivers verify v1a signatures with the public key alone, across a rotation; the private key is never shown', async () => {
    let publicKeys: string[] = [];
    // The receiver answers 401 unless a signature verifies with a public key it was given.
    const verifying = await startReceiver((req) => ({ status: publicKeys.some((k) => verifiesWith(k, req)) ? 200 : 401 }));
    try {
      const d = await createDestination(stack, token, { url: verifying.url, event_types: ['handover_started'], signature_scheme: 'ed25519', retry_schedule_s: [0] });
      assert.equal(d.signature_scheme, 'ed25519');
      assert.match(d.signing_public_key, /^whpk_[A-Za-z0-9+/]{43}=$/);
      assert.equal(d.signing_secret, undefined, 'no private key in the answer');
      const send = async (id: string) => {
        const n = verifying.requests.length;
        const r = await stack.call('POST', '/v1/events', { token, body: { id, type: 'handover_started', occurred_at: '2026-11-27T10:00:00Z', data: { call_id: `call_${id}`, reason: 'wants a human', to_agent: { kind: 'human' } } } });
        assert.equal(r.status, 202, JSON.stringify(r.body));
        return (await verifying.waitFor(n + 1))[n]!;
      };

      publicKeys = [d.signing_public_key];
      const first = await send('ed-before');
      assert.match(String(first.headers['webhook-signature']), /^v1a,[A-Za-z0-9+/]{86}==$/);
      assert.equal(first.headers['x-voiceoi-signature'], first.headers['webhook-signature']);
      assert.ok(verifiesWith(d.signing_public_key, first));
      assert.ok(!accepts(`whsec_${Buffer.alloc(32).toString('base64')}`, first));

      const rotated = await stack.call('POST', `/v1/destinations/${d.id}/rotate-secret`, { token, body: { grace_s: 3 } });
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      assert.equal(rotated.body.signing_secret, undefined);
      const next: string = rotated.body.signing_public_key;
      assert.match(next, /^whpk_/);
      assert.notEqual(next, d.signing_public_key);
      const graceEnds = Date.parse(rotated.body.previous_valid_until);

      // A receiver that already switched to the new key, and one still on the old: both accept.
      publicKeys = [next];
      const during = await send('ed-during');
      assert.equal(String(during.headers['webhook-signature']).split(' ').length, 2);
      assert.ok(verifiesWith(next, during), 'the new key verifies');
      assert.ok(verifiesWith(d.signing_public_key, during), 'the old key still verifies');

      await new Promise((r) => setTimeout(r, Math.max(0, graceEnds - Date.now() + 200)));
      const afterGrace = await send('ed-after');
      assert.ok(verifiesWith(next, afterGrace));
      assert.ok(!verifiesWith(d.signing_public_key, afterGrace), 'the old key no longer verifies');

      // Reads show the public key, never a private one.
      const got = await stack.call('GET', `/v1/destinations/${d.id}`, { token });
      assert.equal(got.body.signing_public_key, next);
      const stored = (await stack.core.store.destinations.getForAttempt(d.id, new Date()))!.signingSecrets;
      for (const body of [got.body, (await stack.call('GET', '/v1/destinations', { token })).body, rotated.body]) {
        for (const secret of stored) assert.ok(!JSON.stringify(body).includes(secret.slice(5)), 'no private key in any answer');
      }
      // The scheme changes with a new key only (rotate-secret), not by PATCH.
      const patch = await stack.call('PATCH', `/v1/destinations/${d.id}`, { token, body: { signature_scheme: 'hmac-sha256' } });
      assert.equal(patch.status, 400);
      assert.match(patch.body.message, /rotate-secret/);
      const back = await stack.call('POST', `/v1/destinations/${d.id}/rotate-secret`, { token, body: { grace_s: 0, signature_scheme: 'hmac-sha256' } });
      assert.match(back.body.signing_secret, /^whsec_/);
      assert.equal(back.body.signing_public_key, null);
      assert.equal((await stack.call('GET', `/v1/destinations/${d.id}`, { token })).body.signature_scheme, 'hmac-sha256');
    } finally {
      await verifying.close();
    }
  });

  test('a destination is HMAC unless it asks for ed25519; an unknown scheme is a 400', async () => {
    const d = await createDestination(stack, token, { url: `${receiver.url}/default`, event_types: ['voice_detected'] });
    assert.equal(d.signature_scheme, 'hmac-sha256');
    assert.equal(d.signing_public_key, null);
    assert.match(d.signing_secret, /^whsec_/);
    const bad = await stack.call('POST', '/v1/destinations', { token, body: { url: receiver.url, event_types: ['*'], signature_scheme: 'rsa' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /signature_scheme/);
  });
});
