import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { callAt } from '../support/api.ts';
import { callCompleted } from '../support/events.ts';
import { spawnApi } from '../support/product-process.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { createDestination } from '../support/resources.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';

describe('an erasure is durable: kill -9 after the 202, or in the middle, changes nothing (PostgreSQL replicas)', () => {
  let stack: Stack;
  let failing: Receiver;
  let ok: Receiver;
  let key: string;
  before(async () => {
    stack = await startStack({}, { database: 'postgres' });
    failing = await startReceiver(() => ({ status: 503 }));
    ok = await startReceiver();
    key = (await stack.createAccount()).api_key;
  });
  after(async () => {
    await stack.stop();
    await failing.close();
    await ok.close();
  });

  const keysOf = (callId: string) => stack.core.store.db.selectFrom('call_keys').select('id').where('call_id', '=', callId).execute();

  test('a replica API killed -9 right after answering 202: nothing more is sent, and the other replica reads it erased', async () => {
    await createDestination(stack, key, { url: failing.url, event_types: ['call_completed'], retry_schedule_s: [0, 2, 2, 2, 2, 2, 2, 2] });
    const replica = await spawnApi(stack);
    try {
      const callId = `call-${randomBytes(4).toString('hex')}`;
      const r = await callAt(replica.url, 'POST', '/v1/events', { token: key, body: callCompleted(`evt_${randomBytes(4).toString('hex')}`, { call_id: callId }) });
      assert.equal(r.status, 202);
      const id = r.body.deliveries[0].id as string;
      await failing.waitFor(1);
      const erased = await callAt(replica.url, 'POST', `/v1/calls/${callId}/erase`, { token: key });
      await replica.kill();
      assert.equal(erased.status, 202, JSON.stringify(erased.body));
      assert.equal(erased.body.cancelled, 1);
      const sent = failing.requests.length;
      await new Promise((res) => setTimeout(res, 5000));
      assert.equal(failing.requests.length, sent, 'no attempt after the answer');
      const view = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}`, { token: key });
      assert.equal(view.body.erased, true);
      assert.equal(view.body.status, 'cancelled');
      assert.equal(view.body.reason, 'erased');
      assert.deepEqual(await keysOf(callId), []);
      assert.equal((await stack.call('GET', `/v1/calls/${callId}`, { token: key })).body.erased_at, erased.body.erased_at);
    } finally {
      await replica.kill();
    }
  });

  test('an erasure interrupted after its mark (the process died mid-way) is finished by the worker when it starts', async () => {
    const dest = await createDestination(stack, key, { url: ok.url, event_types: ['call_completed'] });
    const callId = `call-${randomBytes(4).toString('hex')}`;
    const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_${randomBytes(4).toString('hex')}`, { call_id: callId }) });
    const ids = (r.body.deliveries as { id: string; destination_id: string }[]).map((d) => d.id);
    assert.equal(ids.length, 2, 'this destination and the failing one of the first test');
    const id = ids.find((d) => d.includes(dest.id))!;
    await settled(stack, key, id);
    await stack.stopWorker();
    // What a process killed -9 after the first step leaves: the call marked, the keys still there.
    const account = (await stack.core.store.accounts.findByApiKey(key))!;
    await stack.core.store.calls.beginErasure(account.id, callId, 'account');
    assert.equal((await keysOf(callId)).length, 1);
    assert.equal((await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}/event`, { token: key })).status, 410, 'marked: already unreadable through the API');

    await stack.startWorker();
    await eventually(async () => (await keysOf(callId)).length === 0, 'the worker to finish the erasure');
    const view = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}`, { token: key });
    assert.equal(view.body.erased, true);
    const other = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(ids.find((d) => d !== id)!)}`, { token: key });
    assert.equal(other.body.erased, true);
    assert.equal(other.body.status, 'cancelled', 'the still-retrying one was stopped by the resumed erasure');
    const call = await stack.call('GET', `/v1/calls/${callId}`, { token: key });
    assert.equal(call.body.erased_by, 'account');
    assert.deepEqual(call.body.deliveries, [...ids].sort());
  });
});
