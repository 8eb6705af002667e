// Issue 19, point 2: the operator's per-account ingest quota, counted in the store. A burst from one
// account is refused with 429 + Retry-After past its quota while its neighbour is accepted; an admin
// override replaces the install default for one account.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callCompleted } from './support/events.ts';
import { startDeliveryStack, type DeliveryStack } from './support/delivery-stack.ts';
import { settled } from './support/stack.ts';

describe('per-account protection against bursts: Temporal fairness key, ingest quota', () => {
  let stack: DeliveryStack;
  before(async () => {
    // 1 event/s above a burst of 100 (one batch): the second request of a burst is over.
    stack = await startDeliveryStack({ VOICEOI_INGEST_RATE_PER_S: '1', VOICEOI_INGEST_BURST: '100' });
  });
  after(() => stack.stop());

  const batch = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => callCompleted(`${prefix}_${i}`));

  test('A is refused with 429, Retry-After and ingest_quota_exceeded past its quota (a batch counts its events) while B is accepted and delivered', async () => {
    const a = await stack.createAccount('Bursting BPO');
    const b = stack.account;
    const dest = await stack.call('POST', '/v1/destinations', { token: b.api_key, body: { url: `${stack.receiver.url}/b`, event_types: ['call_completed'] } });
    assert.equal(dest.status, 201);

    const first = await stack.call('POST', '/v1/events/batch', { token: a.api_key, body: batch('evt_a', 100) });
    assert.equal(first.status, 202, JSON.stringify(first.body).slice(0, 300));
    assert.equal(first.body.accepted, 100);
    // The whole allowance is spent: one more event, alone or in a batch, is refused and not recorded.
    for (const [path, body] of [['/v1/events', callCompleted('evt_a_over')], ['/v1/events/batch', batch('evt_a_more', 2)]] as const) {
      const over = await stack.call('POST', path, { token: a.api_key, body });
      assert.equal(over.status, 429, path);
      assert.equal(over.body.code, 'ingest_quota_exceeded');
      assert.match(over.body.message, /over its ingest quota/);
      const retryAfter = Number(over.headers.get('retry-after'));
      assert.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After ${over.headers.get('retry-after')}`);
    }

    // B has its own allowance: accepted, and delivered.
    const ok = await stack.call('POST', '/v1/events', { token: b.api_key, body: callCompleted('evt_b_1') });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    assert.equal((await settled(stack, b.api_key, ok.body.deliveries[0].id)).status, 'delivered');
    // Temporal's share: the delivery carries its account as fairness key (the dev server dispatches by it).
    const described = await stack.client.workflow.getHandle(ok.body.deliveries[0].id).describe();
    assert.equal(described.priority?.fairnessKey, b.id);

    // After Retry-After, A's resend is accepted.
    await new Promise((r) => setTimeout(r, 1_100));
    const resent = await stack.call('POST', '/v1/events', { token: a.api_key, body: callCompleted('evt_a_over') });
    assert.equal(resent.status, 202, JSON.stringify(resent.body));
  });

  test('the admin sets, reads and removes one account’s own quota; an account key cannot', async () => {
    const a = await stack.createAccount('Big BPO');
    const patch = (token: string, body: unknown) => stack.call('PATCH', `/v1/accounts/${a.id}`, { token, body });
    assert.equal((await stack.call('GET', `/v1/accounts/${a.id}`, { token: stack.adminToken })).body.ingest_quota, null);
    assert.equal((await patch(a.api_key, { ingest_quota: { rate_per_s: 0, burst: 100 } })).status, 403);
    const bad = await patch(stack.adminToken, { ingest_quota: { rate_per_s: 10, burst: 5 } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'validation_error');

    // 0 events/s: no quota for this account, whatever the install default.
    const set = await patch(stack.adminToken, { ingest_quota: { rate_per_s: 0, burst: 100 } });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body.ingest_quota, { rate_per_s: 0, burst: 100 });
    for (let i = 0; i < 3; i++) {
      assert.equal((await stack.call('POST', '/v1/events/batch', { token: a.api_key, body: batch(`evt_big_${i}`, 100) })).status, 202);
    }
    // Back to the default (1/s, burst 100), whose allowance the batches above did not spend.
    const reset = await patch(stack.adminToken, { ingest_quota: null });
    assert.equal(reset.body.ingest_quota, null);
    assert.equal((await stack.call('POST', '/v1/events/batch', { token: a.api_key, body: batch('evt_big_x', 100) })).status, 202);
    assert.equal((await stack.call('POST', '/v1/events', { token: a.api_key, body: callCompleted('evt_big_y') })).status, 429);
  });
});
