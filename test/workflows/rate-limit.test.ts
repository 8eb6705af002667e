import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';
import { spawnWorker, type ProductProcess } from '../support/product-process.ts';

/** The most arrivals inside any window of `ms` (half-open, starting at an arrival). */
function busiestWindow(at: number[], ms: number): number {
  let most = 0;
  for (let i = 0; i < at.length; i++) most = Math.max(most, at.filter((t) => t >= at[i]! && t < at[i]! + ms).length);
  return most;
}

describe('rate_limit_per_s: attempts start at the destination rate, across worker processes', () => {
  let stack: Stack;
  let receiver: Receiver;
  const workers: ProductProcess[] = [];
  const run = randomBytes(4).toString('hex');

  before(async () => {
    // Two worker processes and none in this one: the limit must hold across processes.
    stack = await startStack({}, { worker: false });
    workers.push(await spawnWorker(stack), await spawnWorker(stack));
    // An event whose id says `flaky` is refused once: its retry must ask for a permit of its own.
    const refused = new Set<string>();
    receiver = await startReceiver((req) => {
      const id = String(req.headers['webhook-id']);
      if (!id.includes('flaky') || refused.has(id)) return { status: 200 };
      refused.add(id);
      return { status: 503 };
    });
  });
  after(async () => {
    for (const w of workers) await w.stop();
    await stack.stop();
    await receiver.close();
  });

  test('30 events to a 5/s destination: no sliding second at the receiver holds more than 6, they arrive in acceptance order, none lost', async () => {
    const key = (await stack.createAccount()).api_key;

    // Warm both worker processes first: a cold one takes seconds over its first workflow tasks, which
    // would measure start-up rather than the limit.
    const warm = await stack.call('POST', '/v1/destinations', { token: key, body: { url: receiver.url, event_types: ['call_completed'] } });
    for (let i = 0; i < 8; i++) {
      const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_warm_${run}_${i}`) });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      await settled(stack, key, r.body.deliveries[0].id);
    }
    assert.equal((await stack.call('DELETE', `/v1/destinations/${warm.body.id}`, { token: key })).status, 204);
    receiver.requests.length = 0;
    const d = await stack.call('POST', '/v1/destinations', { token: key, body: { url: receiver.url, event_types: ['call_completed'], rate_limit_per_s: 5 } });
    assert.equal(d.status, 201, JSON.stringify(d.body));

    const ids = Array.from({ length: 30 }, (_, i) => `evt_rl_${run}_${String(i).padStart(2, '0')}`);
    const deliveries: string[] = [];
    for (const id of ids) {
      const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(id) });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      deliveries.push(r.body.deliveries[0].id);
    }
    const got = await receiver.waitFor(30, 30_000);
    for (const id of deliveries) assert.equal((await settled(stack, key, id)).status, 'delivered');

    assert.deepEqual(got.map((r) => r.headers['webhook-id']).sort(), ids, 'every event once');
    // The limiter granted the permits in acceptance order...
    const limiter = await stack.client.workflow.getHandle(`ratelimit:${d.body.id}`).fetchHistory();
    const grants = (limiter.events ?? []).filter((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes);
    assert.deepEqual(grants.map((e) => e.signalExternalWorkflowExecutionInitiatedEventAttributes!.workflowExecution!.workflowId), deliveries);
    // The receiver sees what it would measure itself: one request every 1/5 s, in acceptance order,
    // whichever worker sent it (the permits' moments are spread inside the second, not granted together).
    const at = got.map((r) => r.at);
    assert.deepEqual(got.map((r) => r.headers['webhook-id']), ids, 'arrived in acceptance order');
    assert.ok(at.at(-1)! - at[0]! >= 5000, `first to last arrival took ${at.at(-1)! - at[0]!} ms`);
    assert.ok(busiestWindow(at, 1000) <= 6, `busiest second of arrivals held ${busiestWindow(at, 1000)}`);

    // Both worker processes ran attempts: the limit was shared, not per process.
    const identities = new Set<string>();
    for (const id of deliveries) {
      const history = await stack.client.workflow.getHandle(id).fetchHistory();
      for (const e of history.events ?? []) if (e.activityTaskStartedEventAttributes?.identity) identities.add(e.activityTaskStartedEventAttributes.identity);
    }
    assert.ok(identities.size >= 2, `attempts ran in ${[...identities].join(', ')}`);
  });

  test('a delivery waiting for its permit says so, and starts once the bucket refills', async () => {
    const key = (await stack.createAccount()).api_key;
    const d = await stack.call('POST', '/v1/destinations', { token: key, body: { url: receiver.url, event_types: ['call_completed'], rate_limit_per_s: 1 } });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    const deliveries: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_rlw_${run}_${i}`) });
      deliveries.push(r.body.deliveries[0].id);
    }
    const last = deliveries.at(-1)!;
    const waiting = await eventually(async () => {
      const r = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(last)}`, { token: key });
      return r.body.reason ? r.body : undefined;
    }, 'the last delivery to show why it waits');
    assert.equal(waiting.status, 'pending');
    assert.equal(waiting.reason, "waiting for the destination's rate limit (1/s)");
    assert.equal(waiting.attempts.length, 0, 'no attempt spent while waiting');
    const done = await settled(stack, key, last);
    assert.equal(done.status, 'delivered');
    assert.equal(done.reason, undefined);
  });

  test('with per_call ordering too: a retry and each next delivery of the call ask for their own permits, in order', async () => {
    const key = (await stack.createAccount()).api_key;
    const d = await stack.call('POST', '/v1/destinations', {
      token: key,
      body: { url: receiver.url, event_types: ['call_completed'], rate_limit_per_s: 2, ordering: 'per_call', retry_schedule_s: [0, 1] },
    });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    const ids = [0, 1, 2, 3].map((i) => `evt_rlo_${run}_${i === 0 ? 'flaky' : i}`);
    const deliveries: string[] = [];
    for (const id of ids) deliveries.push((await stack.call('POST', '/v1/events', { token: key, body: callCompleted(id, { call_id: `call_rlo_${run}` }) })).body.deliveries[0].id);
    for (const id of deliveries) assert.equal((await settled(stack, key, id)).status, 'delivered', id);
    const seen = receiver.requests.map((r) => String(r.headers['webhook-id'])).filter((id) => ids.includes(id));
    assert.deepEqual(seen, [ids[0], ...ids], 'the refused first event twice, then the rest in order');
    // Ordered and limited: the delivery asks for each attempt's permit itself, once it has its turn.
    const asked = (await stack.client.workflow.getHandle(deliveries[0]!).fetchHistory()).events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'requestPermit');
    assert.equal(asked.length, 2, 'the first delivery asked for a permit for each of its two attempts');
  });
});
