import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { KyselyStore } from '../../src/store/index.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { eventually, settled, startStack, type Delivery, type Stack } from '../support/stack.ts';

/** GET /v1/deliveries/:id once its reason is the one asked for. */
const waitingWith = (stack: Stack, token: string, id: string, reason: string) =>
  eventually(async () => {
    const r = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}`, { token });
    return r.body.reason === reason ? (r.body as Delivery) : undefined;
  }, `${id} to say "${reason}"`);

describe('max_in_flight: a destination has a bounded number of attempts in flight; the rest wait, in order, holding nothing', () => {
  let stack: Stack;
  let hanging: Receiver;
  let fast: Receiver;
  /** Answers held by the hanging receiver, released by the test. */
  const held: (() => void)[] = [];
  const run = randomBytes(4).toString('hex');

  before(async () => {
    stack = await startStack();
    hanging = await startReceiver(() => new Promise((resolve) => held.push(() => resolve({ status: 200 }))));
    fast = await startReceiver();
  });
  after(async () => {
    for (const release of held.splice(0)) release();
    await hanging.close();
    await fast.close();
    await stack.stop();
  });

  test('over the bound a delivery waits with its reason while another account delivers; each freed slot goes to the oldest waiter', async () => {
    const a = (await stack.createAccount('A')).api_key;
    const b = (await stack.createAccount('B')).api_key;
    const da = await stack.call('POST', '/v1/destinations', { token: a, body: { url: hanging.url, event_types: ['call_completed'], max_in_flight: 2, timeout_ms: 30_000 } });
    assert.equal(da.status, 201, JSON.stringify(da.body));
    const db = await stack.call('POST', '/v1/destinations', { token: b, body: { url: fast.url, event_types: ['call_completed'] } });
    assert.equal(db.status, 201, JSON.stringify(db.body));

    const ids = Array.from({ length: 5 }, (_, i) => `evt_slot_${run}_${i}`);
    const deliveries: string[] = [];
    for (const id of ids) {
      const r = await stack.call('POST', '/v1/events', { token: a, body: callCompleted(id) });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      deliveries.push(r.body.deliveries[0].id);
    }
    await hanging.waitFor(2);
    // The three later ones wait, unsent, saying why; the receiver never sees a third request.
    for (const id of deliveries.slice(2)) {
      const d = await waitingWith(stack, a, id, 'waiting for a free slot at the destination (2 in flight)');
      assert.equal(d.status, 'pending');
      assert.equal(d.attempts.length, 0, 'waiting spends no attempt');
    }
    assert.equal(hanging.requests.length, 2);
    assert.deepEqual(await stack.core.store.slots.waiting(da.body.id), deliveries.slice(2), 'waiters listed in acceptance order');

    // B's destination is not held up by A's.
    const rb = await stack.call('POST', '/v1/events', { token: b, body: callCompleted(`evt_slot_b_${run}`) });
    const t0 = Date.now();
    assert.equal((await settled(stack, b, rb.body.deliveries[0].id)).status, 'delivered');
    assert.ok(Date.now() - t0 < 5_000, `B's delivery took ${Date.now() - t0} ms`);

    // Each answer frees one slot: the oldest waiter goes out, and only it.
    for (let k = 2; k < 5; k++) {
      held.shift()!();
      await hanging.waitFor(k + 1);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(hanging.requests.length, k + 1, 'one freed slot, one request');
      assert.equal(hanging.requests[k]!.headers['webhook-id'], ids[k], 'the oldest waiter first');
    }
    for (const release of held.splice(0)) release();
    for (const id of deliveries) assert.equal((await settled(stack, a, id)).status, 'delivered');
    assert.equal(await stack.core.store.slots.inFlight(da.body.id), 0, 'every slot given back');
  });

  test('the slot of an attempt that stopped (its lease left behind) comes back when the lease expires, and the waiter goes out', async () => {
    const a = (await stack.createAccount('A2')).api_key;
    const d = await stack.call('POST', '/v1/destinations', { token: a, body: { url: fast.url, event_types: ['call_completed'], max_in_flight: 1 } });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    const { db } = stack.core.store as KyselyStore;
    // What a worker killed mid-attempt leaves: a lease nobody will release, expiring in 4 s.
    const accountId = (await stack.core.store.destinations.getById(d.body.id))!.account_id;
    await db.insertInto('slot_leases').values({ destination_id: d.body.id, delivery_id: 'delivery:crashed', account_id: accountId, expires_ms: Date.now() + 4_000 }).execute();

    const r = await stack.call('POST', '/v1/events', { token: a, body: callCompleted(`evt_lease_${run}`) });
    const id = r.body.deliveries[0].id;
    await waitingWith(stack, a, id, 'waiting for a free slot at the destination (1 in flight)');
    const t0 = Date.now();
    assert.equal((await settled(stack, a, id)).status, 'delivered');
    // The sweeper (every 2 s) hands the expired slot over; the long re-check (5 min) is not what moved it.
    assert.ok(Date.now() - t0 < 10_000, `went out ${Date.now() - t0} ms after it waited`);
    assert.ok(fast.requests.some((q) => q.headers['webhook-id'] === `evt_lease_${run}`));
  });
});
