import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client } from '@temporalio/client';
import { buildApi } from '../../src/runtime.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type ReceivedRequest, type Receiver } from '../support/receiver.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';

const idOf = (r: ReceivedRequest) => String(r.headers['webhook-id']);
/** How often each of `ids` reached the receiver. */
const arrivals = (receiver: Receiver, ids: string[]) => ids.map((id) => receiver.requests.filter((r) => idOf(r) === id).length);

describe('POST /v1/events/batch', () => {
  let stack: Stack;
  let receiver: Receiver;
  let account: { id: string; api_key: string };
  let destination: string;
  const run = randomBytes(4).toString('hex');
  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `evt_b_${run}_${prefix}${i}`);

  before(async () => {
    stack = await startStack();
    receiver = await startReceiver();
    account = await stack.createAccount();
    destination = await destinationFor(account.api_key, receiver);
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  async function destinationFor(key: string, to: Receiver, extra: Record<string, unknown> = {}): Promise<string> {
    const r = await stack.call('POST', '/v1/destinations', { token: key, body: { url: to.url, event_types: ['call_completed'], ...extra } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  }
  /** A test body run with an account of its own and a receiver for it, closed afterwards. */
  const withAccount = (name: string, fn: (owner: { id: string; api_key: string }, to: Receiver) => Promise<void>) => async () => {
    const owner = await stack.createAccount(name);
    const to = await startReceiver();
    try {
      await fn(owner, to);
    } finally {
      await to.close();
    }
  };
  const batch = (token: string, events: unknown[]) => stack.call('POST', '/v1/events/batch', { token, body: events });
  /** Waits until every id reached `to` once. */
  const delivered = (to: Receiver, list: string[]) =>
    eventually(async () => arrivals(to, list).every((n) => n >= 1), `${list.length} events at the receiver`, 30_000);

  test('a batch of 100: one 202 with a result per event, in order, and every event delivered once', async () => {
    const list = ids('hundred', 100);
    const res = await batch(account.api_key, list.map((id) => callCompleted(id)));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.accepted, 100);
    assert.equal(res.body.refused, 0);
    assert.deepEqual(
      res.body.results,
      list.map((id, index) => ({ index, event_id: id, deliveries: [{ id: `delivery:${destination}:${id}`, destination_id: destination }] })),
    );
    await delivered(receiver, list);
    await settled(stack, account.api_key, `delivery:${destination}:${list[99]}`);
    assert.deepEqual(arrivals(receiver, list), list.map(() => 1));
  });

  test('invalid envelopes are refused one by one, with the single-ingest error; the valid ones around them are accepted and delivered', async () => {
    const [ok0, ok5, noCost, reserved, huge] = ids('mixed', 5);
    const { cost: _cost, ...withoutCost } = callCompleted(noCost!).data;
    const res = await batch(account.api_key, [
      callCompleted(ok0!),
      { ...callCompleted(noCost!), data: withoutCost },
      { ...callCompleted('evt_unknown_type'), type: 'call_exploded' },
      callCompleted('evt bad id'),
      42,
      callCompleted(ok5!),
      { id: reserved, type: 'hook.destination_disabled', occurred_at: '2026-11-27T10:00:00Z', data: { destination_id: destination, reason: 'forged' } },
      callCompleted(huge!, { notes: 'x'.repeat(1024 * 1024) }),
    ]);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.accepted, 2);
    assert.equal(res.body.refused, 6);
    const [r0, r1, r2, r3, r4, r5, r6, r7] = res.body.results;
    assert.deepEqual(r0.deliveries, [{ id: `delivery:${destination}:${ok0}`, destination_id: destination }]);
    assert.deepEqual({ index: r1.index, code: r1.code }, { index: 1, code: 'validation_error' });
    assert.match(r1.message, /^data\.cost: /);
    assert.deepEqual(r1.issues.map((i: { path: string }) => i.path), ['data.cost']);
    assert.equal(r2.code, 'validation_error');
    assert.match(r2.message, /^type: /);
    assert.equal(r3.code, 'validation_error');
    assert.match(r3.message, /^id: may contain only letters/);
    assert.equal(r4.code, 'validation_error');
    assert.equal(r5.event_id, ok5);
    assert.equal(r5.deliveries.length, 1);
    assert.deepEqual({ index: r6.index, event_id: r6.event_id, code: r6.code }, { index: 6, event_id: reserved, code: 'reserved_event_type' });
    assert.deepEqual({ index: r7.index, code: r7.code }, { index: 7, code: 'payload_too_large' });
    await delivered(receiver, [ok0!, ok5!]);
    assert.equal(receiver.requests.filter((r) => [noCost, reserved, huge].includes(idOf(r))).length, 0);
  });

  test('the same id twice in a batch, or again in another batch or a single POST, has the first answer and reaches the receiver once', async () => {
    const [one, two] = ids('dupe', 2);
    const first = await batch(account.api_key, [callCompleted(one!), callCompleted(one!), callCompleted(two!)]);
    assert.equal(first.status, 202);
    const [a, b, c] = first.body.results;
    assert.deepEqual(b, { ...a, index: 1 });
    const again = await batch(account.api_key, [callCompleted(two!), callCompleted(one!)]);
    assert.deepEqual(again.body.results, [{ ...c, index: 0 }, { ...a, index: 1 }]);
    const single = await stack.call('POST', '/v1/events', { token: account.api_key, body: callCompleted(one!) });
    assert.deepEqual(single.body, { event_id: a.event_id, deliveries: a.deliveries });
    for (const id of [one!, two!]) await settled(stack, account.api_key, `delivery:${destination}:${id}`);
    assert.deepEqual(arrivals(receiver, [one!, two!]), [1, 1]);
  });

  describe('the batch itself is refused with its own code', () => {
    test('101 events: 400 batch_too_large, and none of them is accepted', async () => {
      const list = ids('over', 101);
      const res = await batch(account.api_key, list.map((id) => callCompleted(id)));
      assert.equal(res.status, 400);
      assert.equal(res.body.code, 'batch_too_large');
      assert.equal(res.body.message, '101 events in one batch; a batch holds at most 100: split it');
      assert.equal(res.body.max_events, 100);
      const lookup = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(`delivery:${destination}:${list[0]}`)}`, { token: account.api_key });
      assert.equal(lookup.status, 404);
    });

    test('no events: 400 batch_empty; a body that is not an array (one envelope, an object holding the list): 400 validation_error', async () => {
      const empty = await batch(account.api_key, []);
      assert.deepEqual([empty.status, empty.body.code], [400, 'batch_empty']);
      for (const body of [callCompleted('evt_b_not_a_list'), { events: [callCompleted('evt_b_wrapped')] }]) {
        const res = await stack.call('POST', '/v1/events/batch', { token: account.api_key, body });
        assert.deepEqual([res.status, res.body.code], [400, 'validation_error']);
        assert.match(res.body.message, /array/);
      }
    });

    test('a body over 4 MiB: 413 payload_too_large', async () => {
      const big = Array.from({ length: 5 }, (_, i) => callCompleted(`evt_b_big_${i}`, { notes: 'x'.repeat(900 * 1024) }));
      const res = await batch(account.api_key, big);
      assert.deepEqual([res.status, res.body.code], [413, 'payload_too_large']);
    });

    test('a missing key: 401, before the body is read', async () => {
      const res = await batch('', [callCompleted('evt_b_nokey')]);
      assert.equal(res.status, 401);
    });

    test('JSON nested deeper than 64 levels: 400 json_too_deep', async () => {
      const deep = '[' + '['.repeat(70) + ']'.repeat(70) + ']';
      const res = await stack.call('POST', '/v1/events/batch', { token: account.api_key, raw: deep });
      assert.deepEqual([res.status, res.body.code], [400, 'json_too_deep']);
    });
  });


  test('the events of one call reach a per_call destination in the order of the batch', withAccount('Ordered BPO', async (ordered, to) => {
    await destinationFor(ordered.api_key, to, { ordering: 'per_call' });
    // Three calls, interleaved, ten events each: a batch the platform sends after a busy second.
    const calls = ['a', 'b', 'c'].map((c) => ids(`order_${c}`, 10));
    const events = Array.from({ length: 10 }, (_, i) => calls.map((list, c) => callCompleted(list[i]!, { call_id: `call_${run}_${c}` }))).flat();
    const res = await batch(ordered.api_key, events);
    assert.equal(res.body.accepted, 30, JSON.stringify(res.body));
    await delivered(to, calls.flat());
    for (const list of calls) {
      const firsts = to.requests.map(idOf).filter((id, i, all) => list.includes(id) && all.indexOf(id) === i);
      assert.deepEqual(firsts, list);
    }
  }));

  test('with the admin token each envelope names its account_id; one without it, or naming no account, is refused alone', withAccount('Other BPO', async (other, to) => {
    const otherDestination = await destinationFor(other.api_key, to);
    const [mine, theirs, unnamed, unknown] = ids('admin', 4);
    const res = await batch(stack.adminToken, [
      { ...callCompleted(mine!), account_id: account.id },
      { ...callCompleted(theirs!), account_id: other.id },
      callCompleted(unnamed!),
      { ...callCompleted(unknown!), account_id: 'acc_does_not_exist' },
    ]);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const [r0, r1, r2, r3] = res.body.results;
    assert.deepEqual(r0.deliveries, [{ id: `delivery:${destination}:${mine}`, destination_id: destination }]);
    assert.deepEqual(r1.deliveries, [{ id: `delivery:${otherDestination}:${theirs}`, destination_id: otherDestination }]);
    assert.deepEqual([r2.code, r2.event_id], ['account_required', unnamed]);
    assert.deepEqual([r3.code, r3.message], ['account_not_found', "No account 'acc_does_not_exist'"]);
    await delivered(receiver, [mine!]);
    await delivered(to, [theirs!]);
    assert.deepEqual(arrivals(receiver, [theirs!]), [0]);
    assert.deepEqual(arrivals(to, [mine!]), [0]);
  }));

  test("an account key cannot post for another account: that envelope is refused, and the other account's same id is its own event", withAccount('Victim BPO', async (victim, to) => {
    const victimDestination = await destinationFor(victim.api_key, to);
    const [forged, own] = ids('tenancy', 2);
    const res = await batch(account.api_key, [{ ...callCompleted(forged!), account_id: victim.id }, callCompleted(own!)]);
    const [r0, r1] = res.body.results;
    assert.deepEqual([r0.code, r0.event_id], ['account_mismatch', forged]);
    assert.equal(r1.deliveries[0].destination_id, destination);
    // The victim's own event with that id was never claimed by the forged one.
    const real = await batch(victim.api_key, [callCompleted(forged!)]);
    assert.deepEqual(real.body.results[0].deliveries, [{ id: `delivery:${victimDestination}:${forged}`, destination_id: victimDestination }]);
    await delivered(to, [forged!]);
    assert.equal((await settled(stack, victim.api_key, `delivery:${victimDestination}:${forged}`)).attempts.length, 1);
    assert.deepEqual(arrivals(receiver, [forged!]), [0]);
  }));

  test("each envelope goes through the destinations' filters, as at single ingest", withAccount('Filtered BPO', async (filtered, to) => {
    const d = await destinationFor(filtered.api_key, to, { filter: 'data.duration_s > 60' });
    const [long, short] = ids('filter', 2);
    const res = await batch(filtered.api_key, [callCompleted(long!), callCompleted(short!, { duration_s: 12 })]);
    assert.deepEqual(res.body.results.map((r: { deliveries: unknown[] }) => r.deliveries.length), [1, 0]);
    await settled(stack, filtered.api_key, `delivery:${d}:${long}`);
    assert.deepEqual(arrivals(to, [long!, short!]), [1, 0]);
  }));

  test('when Temporal refuses the starts: accepted events stay accepted, refused ones say so (and hold the later events of their call), and sending them again delivers them', withAccount('Outage BPO', async (owner, to) => {
    // The same store, but a client whose starts Temporal refuses (a namespace it does not have).
    const broken = await buildApi(stack.core, new Client({ connection: stack.connection, namespace: `missing-${run}` }), { taskQueue: stack.taskQueue });
    try {
      const d = await destinationFor(owner.api_key, to, { filter: 'data.duration_s > 60', ordering: 'per_call' });
      const [x1, x2, quiet, z] = ids('outage', 4);
      const events = [
        callCompleted(x1!, { call_id: `call_${run}_x` }),
        callCompleted(x2!, { call_id: `call_${run}_x` }),
        callCompleted(quiet!, { duration_s: 5 }),
        callCompleted(z!),
      ];
      const res = await broken.inject({ method: 'POST', url: '/v1/events/batch', headers: { authorization: `Bearer ${owner.api_key}` }, payload: events });
      assert.equal(res.statusCode, 202, res.body);
      const body = res.json();
      assert.deepEqual(body.results.map((r: { code?: string }) => r.code ?? 'accepted'), ['temporal_unavailable', 'call_order_held', 'accepted', 'temporal_unavailable']);
      assert.match(body.results[0].message, /Send it again with the same id/);
      assert.deepEqual(body.results[2], { index: 2, event_id: quiet, deliveries: [] });

      // The producer sends the refused ones again, in order, once Temporal is back.
      const retry = await batch(owner.api_key, [events[0], events[1], events[3]]);
      assert.deepEqual(retry.body.results.map((r: { deliveries: { id: string }[] }) => r.deliveries.map((x) => x.id)), [x1, x2, z].map((id) => [`delivery:${d}:${id}`]));
      await delivered(to, [x1!, x2!, z!]);
      const firsts = to.requests.map(idOf).filter((id) => id === x1 || id === x2);
      assert.deepEqual(firsts, [x1, x2]);
    } finally {
      await broken.close();
    }
  }));

  test('the OpenAPI document says a 202 can hold per-event errors, and which', async () => {
    const doc = await stack.call('GET', '/openapi.json');
    const op = doc.body.paths['/v1/events/batch'].post;
    assert.match(op.description, /A 202 can hold per-event errors/);
    for (const code of ['validation_error', 'account_mismatch', 'temporal_unavailable', 'call_order_held', 'batch_too_large']) assert.ok(op.description.includes(code), code);
    assert.equal(op.requestBody.content['application/json'].schema.maxItems, 100);
  });
});
