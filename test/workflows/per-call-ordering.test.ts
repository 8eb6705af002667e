import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type ReceivedRequest, type Receiver, type Reply } from '../support/receiver.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';
import { spawnApi, spawnWorker, type ProductProcess } from '../support/product-process.ts';

const eventOf = (r: ReceivedRequest) => String(r.headers['webhook-id']);

/**
 * The receiver's view of one call: its events, each arriving only after the one before it was
 * answered 2xx (a repeat of the same event, a retried attempt, may come before that answer).
 */
function assertOneAtATime(requests: ReceivedRequest[], ids: string[], succeededAt: Map<string, number>): void {
  const seen = requests.filter((r) => ids.includes(eventOf(r)));
  const firsts = seen.map(eventOf).filter((id, i, all) => all.indexOf(id) === i);
  assert.deepEqual(firsts, ids, 'the call reached the receiver in acceptance order');
  for (let k = 1; k < ids.length; k++) {
    const first = seen.find((r) => eventOf(r) === ids[k])!;
    assert.ok(first.at >= succeededAt.get(ids[k - 1]!)!, `${ids[k]} arrived before ${ids[k - 1]} was delivered`);
  }
}

describe('ordering: "per_call": one call reaches the destination one delivery at a time, in acceptance order', () => {
  let stack: Stack;
  let receiver: Receiver;
  let crashing: ProductProcess | undefined;
  const run = randomBytes(4).toString('hex');
  const succeededAt = new Map<string, number>();
  /** Per event id: how the receiver answers its n-th request (0-based); default 200. */
  const script = new Map<string, (n: number) => Reply | Promise<Reply>>();
  const counts = new Map<string, number>();

  before(async () => {
    stack = await startStack({}, { worker: false });
    receiver = await startReceiver(async (req) => {
      const id = eventOf(req);
      const n = counts.get(id) ?? 0;
      counts.set(id, n + 1);
      const reply = await (script.get(id)?.(n) ?? { status: 200 });
      if (reply.status < 300) succeededAt.set(id, Date.now());
      return reply;
    });
  });
  after(async () => {
    await crashing?.kill();
    await stack.stop();
    await receiver.close();
  });

  async function orderedDestination(key: string, timeoutMs = 1000) {
    const d = await stack.call('POST', '/v1/destinations', {
      token: key,
      body: { url: receiver.url, event_types: ['call_completed'], ordering: 'per_call', retry_schedule_s: [0, 1, 1, 1], timeout_ms: timeoutMs },
    });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    return d.body.id as string;
  }
  async function send(key: string, id: string, callId: string): Promise<string> {
    const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(id, { call_id: callId }) });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.deliveries[0].id as string;
  }

  test('five events of a call whose first fails twice arrive in order, while another call flows meanwhile', async () => {
    await stack.startWorker();
    const key = (await stack.createAccount()).api_key;
    // A generous timeout: the first event's second answer is held until the test has read the
    // waiting reason, so a slow machine cannot close that window before the test looks.
    await orderedDestination(key, 15_000);
    const a = Array.from({ length: 5 }, (_, i) => `evt_pc_${run}_a${i}`);
    const b = Array.from({ length: 3 }, (_, i) => `evt_pc_${run}_b${i}`);
    let reasonRead!: () => void;
    const read = new Promise<void>((r) => (reasonRead = r));
    script.set(a[0]!, async (n) => {
      if (n === 1) await read;
      return n < 2 ? { status: 503 } : { status: 200 };
    });

    const deliveries = new Map<string, string>();
    // Interleaved, as a live dialer sends them.
    for (const id of [a[0], a[1], b[0], a[2], b[1], a[3], b[2], a[4]] as string[]) deliveries.set(id, await send(key, id, id.includes('_a') ? `call_a_${run}` : `call_b_${run}`));

    // While the call's first delivery retries, the next one says whom it waits for.
    const second = await eventually(async () => {
      const r = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(deliveries.get(a[2]!)!)}`, { token: key });
      return r.body.reason === `waiting for ${deliveries.get(a[1]!)}` ? r.body : undefined;
    }, 'the third delivery of the call to name the one ahead of it');
    reasonRead();
    assert.equal(second.attempts.length, 0);

    for (const id of [...a, ...b]) assert.equal((await settled(stack, key, deliveries.get(id)!, 30_000)).status, 'delivered', id);
    assertOneAtATime(receiver.requests, a, succeededAt);
    assert.equal(counts.get(a[0]!), 3, 'the first event was tried three times');
    // The other call was not held up: all of it arrived before call A's first event finally succeeded.
    for (const id of b) assert.ok(succeededAt.get(id)! < succeededAt.get(a[0]!)!, `${id} waited for the other call`);
    await stack.stopWorker();
  });

  test('kill -9 of the worker mid-sequence: a new worker carries on, the order holds and nothing is lost', async () => {
    const key = (await stack.createAccount()).api_key;
    await orderedDestination(key);
    const a = Array.from({ length: 5 }, (_, i) => `evt_pck_${run}_a${i}`);
    script.set(a[0]!, (n) => (n < 2 ? { status: 503 } : { status: 200 }));
    // The third event's first request is never answered: the worker dies during that attempt.
    let arrived!: () => void;
    const thirdArrived = new Promise<void>((r) => (arrived = r));
    script.set(a[2]!, (n) => {
      if (n > 0) return { status: 200 };
      arrived();
      return new Promise<never>(() => {});
    });

    crashing = await spawnWorker(stack);
    const deliveries: string[] = [];
    for (const id of a) deliveries.push(await send(key, id, `call_k_${run}`));
    await thirdArrived;
    await crashing.kill();
    crashing = undefined;
    await stack.startWorker();

    for (const id of deliveries) assert.equal((await settled(stack, key, id, 60_000)).status, 'delivered', id);
    assertOneAtATime(receiver.requests, a, succeededAt);
    const third = await settled<any>(stack, key, deliveries[2]!);
    assert.equal(third.attempts[0].error.code, 'attempt_timed_out', 'the attempt lost with the worker was retried');
  });

  test('a cancelled delivery passes the turn on: waiting, it leaves the queue; holding it, the next one starts', async () => {
    const key = (await stack.createAccount()).api_key;
    const d = await stack.call('POST', '/v1/destinations', {
      token: key,
      body: { url: receiver.url, event_types: ['call_completed'], ordering: 'per_call', retry_schedule_s: [0, 600] },
    });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    const [c0, c1, c2] = [0, 1, 2].map((i) => `evt_pcc_${run}_${i}`) as [string, string, string];
    script.set(c0, () => ({ status: 503 }));
    const ids: string[] = [];
    for (const id of [c0, c1, c2]) ids.push(await send(key, id, `call_c_${run}`));
    const [d0, d1, d2] = ids as [string, string, string];
    const reasonOf = async (id: string) => (await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}`, { token: key })).body.reason;
    await eventually(async () => (await reasonOf(d2)) === `waiting for ${d1}`, 'the last to wait for the middle one');

    assert.equal((await stack.call('POST', `/v1/deliveries/${encodeURIComponent(d1)}/cancel`, { token: key })).status, 202);
    assert.equal((await settled(stack, key, d1)).status, 'cancelled');
    await eventually(async () => (await reasonOf(d2)) === `waiting for ${d0}`, 'the last to wait for the first one once the middle one left');
    assert.equal(counts.get(c2), undefined, 'the last one still waits while the first one retries');

    assert.equal((await stack.call('POST', `/v1/deliveries/${encodeURIComponent(d0)}/cancel`, { token: key })).status, 202);
    assert.equal((await settled(stack, key, d0)).status, 'cancelled');
    assert.equal((await settled(stack, key, d2)).status, 'delivered');
    assert.equal(counts.get(c1), undefined, 'the cancelled one never reached the receiver');
  });

  test('events of one call posted alternately to two API processes on one store and one Temporal keep their order', async () => {
    const key = (await stack.createAccount()).api_key;
    await orderedDestination(key);
    const a = Array.from({ length: 6 }, (_, i) => `evt_pca_${run}_a${i}`);
    // The first is refused twice: the others, accepted by either process, wait behind it.
    script.set(a[0]!, (n) => (n < 2 ? { status: 503 } : { status: 200 }));
    const replica = await spawnApi(stack);
    const deliveries: string[] = [];
    try {
      for (const [i, id] of a.entries()) {
        if (i % 2 === 0) {
          deliveries.push(await send(key, id, `call_two_apis_${run}`));
          continue;
        }
        const res = await fetch(`${replica.url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(callCompleted(id, { call_id: `call_two_apis_${run}` })),
        });
        const body = (await res.json()) as { deliveries: { id: string }[] };
        assert.equal(res.status, 202, JSON.stringify(body));
        deliveries.push(body.deliveries[0]!.id);
      }
    } finally {
      await replica.stop();
    }
    for (const id of deliveries) assert.equal((await settled(stack, key, id, 60_000)).status, 'delivered', id);
    assertOneAtATime(receiver.requests, a, succeededAt);
    assert.equal(counts.get(a[0]!), 3, 'the first event was tried three times');
  });
});
