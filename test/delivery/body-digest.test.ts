import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { createDestination } from '../support/resources.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('record_bodies: false keeps sizes and SHA-256 digests of the bodies in attempt records, never the bodies', () => {
  let stack: Stack;
  let receiver: Receiver;
  let key: string;
  const card = `4111 1111 1111 ${randomBytes(2).readUInt16BE() % 10_000}`;
  const answer = `{"stored_card":"${card}"}`;
  before(async () => {
    stack = await startStack();
    receiver = await startReceiver(() => ({ status: 200, body: answer }));
    key = (await stack.createAccount()).api_key;
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  test('the attempt shows sizes and digests that match what the receiver got and answered; the history holds neither body', async () => {
    const d = await createDestination(stack, key, { url: receiver.url, event_types: ['call_completed'], record_bodies: false });
    assert.equal(d.record_bodies, false);
    const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_${randomBytes(4).toString('hex')}`, { summary: `card ${card}` }) });
    const id = r.body.deliveries[0].id as string;
    const view = await settled<{ status: string; attempts: { request: Record<string, unknown>; response: Record<string, unknown> }[] }>(stack, key, id);
    assert.equal(view.status, 'delivered');
    const sent = receiver.requests.at(-1)!.body;
    assert.ok(sent.includes(card), 'the receiver got the body');
    const [attempt] = view.attempts;
    assert.equal(attempt!.request.body, '');
    assert.equal(attempt!.request.body_recorded, false);
    assert.equal(attempt!.request.body_bytes, Buffer.byteLength(sent));
    assert.equal(attempt!.request.body_sha256, sha256(sent));
    assert.equal(attempt!.response.body, '');
    assert.equal(attempt!.response.body_bytes, Buffer.byteLength(answer));
    assert.equal(attempt!.response.body_sha256, sha256(answer));
    assert.ok(!JSON.stringify(view.attempts).includes(card), JSON.stringify(view).slice(0, 3000));

    // Switched back on: the next delivery records its bodies again.
    const patched = await stack.call('PATCH', `/v1/destinations/${d.id}`, { token: key, body: { record_bodies: true } });
    assert.equal(patched.body.record_bodies, true);
    const again = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_${randomBytes(4).toString('hex')}`) });
    const full = await settled<{ attempts: { request: { body: string; body_sha256?: string } }[] }>(stack, key, again.body.deliveries[0].id);
    assert.notEqual(full.attempts[0]!.request.body, '');
    assert.equal(full.attempts[0]!.request.body_sha256, undefined);
  });
});
