// Issue 19, point 5: one account's looping scripts fill only its own share of the sandbox. Its
// neighbour's filter verdicts and mapped deliveries neither wait behind them nor change, and a
// transform that could not run for lack of room waits for the sandbox instead of failing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { callCompleted } from '../support/events.ts';
import { startDeliveryStack, type DeliveryStack } from '../support/delivery-stack.ts';
import { eventually, settled } from '../support/stack.ts';

/** A's share of the sandbox (runs waiting or running): small, so that the test fills it quickly. */
const SHARE = 12;
const LOOP = `export default function transform(): null { for (;;) {} }`;

describe('sandbox neighbours', () => {
  let stack: DeliveryStack;
  let b: string;
  before(async () => {
    stack = await startDeliveryStack({ VOICEOI_SANDBOX_QUEUE_PER_ACCOUNT: String(SHARE) });
    b = stack.account.api_key;
  });
  after(() => stack.stop());

  /** A test run of A's looping mapping, sent raw so that the test can walk away from it. */
  // A's own connections, closed at the end: an API that is closing waits for every open one.
  const aConnections = new Agent();
  const loopingTest = async (key: string, mappingId: string, signal: AbortSignal): Promise<{ status: number; code?: string }> => {
    try {
      const r = await fetch(`${stack.url}/v1/mappings/test`, {
        dispatcher: aConnections,
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ mapping_id: mappingId, event: callCompleted('evt_loop') }),
        signal,
      });
      return { status: r.status, code: ((await r.json()) as { code?: string }).code };
    } catch {
      // Walked away from, before the answer or while reading it.
      return { status: 0, code: 'aborted' };
    }
  };

  test("A's flood of looping tests changes neither B's filter verdicts nor B's mapped deliveries, and A's own delivery waits for the sandbox", async () => {
    const a = (await stack.createAccount('Flooding BPO')).api_key;
    const hook = `${stack.receiver.url}/hook`;
    const mapping = (key: string) => stack.call('POST', '/v1/mappings', { token: key, body: { name: 'm', language: 'jsonata', source: '{"mapped": data.call_id}' } });
    const filtered = await stack.call('POST', '/v1/destinations', { token: b, body: { url: `${hook}/b-filtered`, event_types: ['call_completed'], filter: 'data.duration_s > 60' } });
    const mapped = await stack.call('POST', '/v1/destinations', { token: b, body: { url: `${hook}/b-mapped`, event_types: ['call_completed'], mapping_id: (await mapping(b)).body.id } });
    const aMapped = await stack.call('POST', '/v1/destinations', { token: a, body: { url: `${hook}/a-mapped`, event_types: ['call_completed'], mapping_id: (await mapping(a)).body.id } });
    assert.deepEqual([filtered.status, mapped.status, aMapped.status], [201, 201, 201]);

    // A floods: more looping tests than its share, each sent again as soon as it ends (the issue's
    // scenario), so its share stays full. The runs past the share are refused at once, as busy.
    const walkAway = new AbortController();
    const looping = await stack.call('POST', '/v1/mappings', { token: a, body: { name: 'loop', language: 'typescript', source: LOOP, timeout_ms: 1_500 } });
    assert.equal(looping.status, 201, JSON.stringify(looping.body));
    const answers: string[] = [];
    const lane = async () => {
      while (!walkAway.signal.aborted) {
        const r = await loopingTest(a, looping.body.id, walkAway.signal);
        answers.push(`${r.status} ${r.code}`);
        if (r.status === 503) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const flood = Array.from({ length: SHARE + 3 }, lane);
    await eventually(async () => stack.core.engine.stats().queued >= SHARE - 1 && answers.includes('503 sandbox_busy'), "A's share to fill");

    // B, meanwhile: the short call stays excluded by its filter, the long one passes, both mapped deliveries arrive.
    const short = await stack.call('POST', '/v1/events', { token: b, body: callCompleted('evt_b_short', { duration_s: 12 }) });
    const long = await stack.call('POST', '/v1/events', { token: b, body: callCompleted('evt_b_long', { duration_s: 600 }) });
    assert.equal(short.status, 202, JSON.stringify(short.body));
    assert.equal(long.status, 202, JSON.stringify(long.body));
    const to = (res: typeof short) => res.body.deliveries.map((d: { destination_id: string }) => d.destination_id).sort();
    assert.deepEqual(to(short), [mapped.body.id]);
    assert.deepEqual(to(long), [filtered.body.id, mapped.body.id].sort());
    for (const d of [...short.body.deliveries, ...long.body.deliveries]) assert.equal((await settled(stack, b, d.id)).status, 'delivered');
    const bodies = stack.receiver.requests.filter((r) => r.url === '/hook/b-mapped').map((r) => r.body);
    assert.deepEqual(bodies.sort(), ['{"mapped":"call_evt_b_long"}', '{"mapped":"call_evt_b_short"}']);
    // B was served while A's loops still waited: B did not queue behind them.
    assert.ok(stack.core.engine.stats().queued > 0, 'A still has runs waiting after all of B was done');

    // A's own delivery finds no room for its transform: it waits (not failed), and goes out once there is room.
    const own = await stack.call('POST', '/v1/events', { token: a, body: callCompleted('evt_a_1') });
    assert.equal(own.status, 202);
    const ownId: string = own.body.deliveries[0].id;
    const waiting = await eventually(async () => {
      const r = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(ownId)}`, { token: a });
      return /waiting for the transform sandbox/.test(r.body.reason ?? '') ? r.body : undefined;
    }, 'the delivery to say it waits for the sandbox', 30_000);
    assert.equal(waiting.status, 'pending');

    // A filter of A's that cannot run now is no verdict: the event is refused as busy, nothing recorded.
    const aFiltered = await stack.call('POST', '/v1/destinations', { token: a, body: { url: `${hook}/a-filtered`, event_types: ['call_completed'], filter: 'data.duration_s > 60' } });
    const busy = await stack.call('POST', '/v1/events', { token: a, body: callCompleted('evt_a_2') });
    assert.equal(busy.status, 503, JSON.stringify(busy.body));
    assert.equal(busy.body.code, 'sandbox_busy');
    assert.equal(busy.headers.get('retry-after'), '2');
    assert.equal((await stack.call('GET', `/v1/deliveries/${encodeURIComponent(`delivery:${aMapped.body.id}:evt_a_2`)}`, { token: a })).status, 404);

    // A walks away from its tests: those still waiting are withdrawn, so the sandbox frees at once.
    const cancelledBefore = stack.core.engine.stats().cancelled;
    walkAway.abort();
    await Promise.all(flood);
    // A's own runs ended as their mapping says (a timeout, 422) or were refused as busy: nothing else.
    assert.deepEqual([...new Set(answers)].sort(), ['0 aborted', '422 timeout', '503 sandbox_busy'].filter((x) => answers.includes(x)));
    assert.ok(answers.includes('503 sandbox_busy'));
    await eventually(async () => stack.core.engine.stats().queued === 0, 'the abandoned tests to leave the queue', 5_000);
    // Most of A's share was waiting (one runs; A's delivery may hold a place, not withdrawn by A's tests).
    assert.ok(stack.core.engine.stats().cancelled - cancelledBefore >= SHARE / 2, JSON.stringify(stack.core.engine.stats()));
    const done = await settled(stack, a, ownId, 60_000);
    assert.equal(done.status, 'delivered', JSON.stringify(done));
    const aBody = stack.receiver.requests.find((r) => r.url === '/hook/a-mapped')?.body;
    assert.deepEqual(JSON.parse(aBody ?? 'null'), { mapped: 'call_evt_a_1' });
    // Sent again, the refused event is filtered and delivered as if it had never been refused.
    const resent = await stack.call('POST', '/v1/events', { token: a, body: callCompleted('evt_a_2') });
    assert.equal(resent.status, 202, JSON.stringify(resent.body));
    assert.deepEqual(to(resent), [aFiltered.body.id, aMapped.body.id].sort());
    await aConnections.destroy();
  });
});
