import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { callCompleted } from '../support/events.ts';
import { createFailingStreak, DISABLE_AFTER_FAILING_MS } from '../../src/delivery/failing-streak.ts';
import { resumeUpdate } from '../../workflows/delivery.ts';

describe('pause, resume and automatic disabling of a destination', () => {
  let stack: Stack;
  let key: string;
  const run = randomBytes(4).toString('hex');
  const receivers: Receiver[] = [];
  const receiver = async (respond?: Parameters<typeof startReceiver>[0]) => {
    const r = await startReceiver(respond);
    receivers.push(r);
    return r;
  };
  // A fresh account per destination, so each event fans out to that destination only.
  const createDestination = async (url: string, schedule = [0, 1, 1]) => {
    key = (await stack.createAccount()).api_key;
    const r = await stack.call('POST', '/v1/destinations', { token: key, body: { url, event_types: ['call_completed'], retry_schedule_s: schedule } });
    assert.equal(r.status, 201);
    return r.body.id as string;
  };
  const send = async (eventId: string) => {
    const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(eventId) });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.deliveries as { id: string }[];
  };
  const delivery = async (id: string) => (await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}`, { token: key })).body;

  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.stop();
    for (const r of receivers) await r.close();
  });

  test('a paused destination holds 20 events durably; resume delivers all 20', async (t) => {
    const crm = await receiver();
    const dest = await createDestination(crm.url);
    assert.equal((await stack.call('POST', `/v1/destinations/${dest}/pause`, { token: key })).body.paused, true);
    const eventIds = Array.from({ length: 20 }, (_, i) => `held-${run}-${String(i).padStart(2, '0')}`);
    const ids: string[] = [];
    for (const e of eventIds) ids.push((await send(e))[0]!.id);
    await eventually(async () => {
      const states = await Promise.all(ids.map(delivery));
      return states.every((s) => s.status === 'pending' && s.reason === 'destination paused');
    }, 'all 20 deliveries holding', 30_000, 250);
    const listed = (status: string) => stack.call('GET', `/v1/deliveries?status=${status}&destination_id=${dest}&limit=100`, { token: key });
    await eventually(async () => (await listed('pending')).body.items.length === 20, 'VoiceoiStatus pending for the held deliveries');
    // Holding spends no attempts and reaches nobody, even across a worker restart.
    await stack.stopWorker();
    await stack.startWorker();
    assert.equal(crm.requests.length, 0);
    assert.deepEqual((await delivery(ids[0]!)).attempts, []);

    const resumed = await stack.call('POST', `/v1/destinations/${dest}/resume`, { token: key });
    assert.equal(resumed.status, 200);
    assert.equal(resumed.body.paused, false);
    await crm.waitFor(20, 20_000);
    const arrived = crm.requests.map((r) => r.headers['webhook-id'] as string);
    assert.deepEqual([...arrived].sort(), eventIds, 'every held event, once');
    for (const id of ids) await eventually(async () => (await delivery(id)).status === 'delivered', `${id} delivered`);
    await eventually(async () => (await listed('delivered')).body.items.length === 20 && (await listed('pending')).body.items.length === 0, 'VoiceoiStatus delivered');
    const first = await delivery(ids[0]!);
    assert.deepEqual(first.attempts.map((a: { n: number }) => a.n), [1], 'the hold cost no attempt');
    assert.equal(crm.requests[0]!.headers['x-voiceoi-attempt'], '1');

    // Resume releases the backlog oldest first, one delivery at a time: it arrives in event order.
    let inversions = 0;
    for (let i = 0; i < arrived.length; i++) for (let j = i + 1; j < arrived.length; j++) if (arrived[i]! > arrived[j]!) inversions++;
    const span = crm.requests.at(-1)!.at - crm.requests[0]!.at;
    t.diagnostic(`resume order: ${inversions} inversions of 190 pairs; 20 held deliveries drained in ${span} ms; arrival order: ${arrived.map((e) => e.slice(-2)).join(' ')}`);
    assert.deepEqual(arrived, eventIds, 'the backlog arrives in the order its events were accepted');
  });

  test('the resume update answers at once for a delivery that is not held (a backlog drain never waits on a retry timer)', async () => {
    const flaky = await receiver(() => ({ status: 503 }));
    await createDestination(flaky.url, [0, 3600]);
    const [d] = await send(`sleeping-${run}`);
    await eventually(async () => (await delivery(d!.id)).status === 'retrying', 'retrying');
    assert.equal(await stack.client.workflow.getHandle(d!.id).executeUpdate(resumeUpdate), false);
    assert.equal(flaky.requests.length, 1, 'the update did not trigger an attempt');
    await stack.call('POST', `/v1/deliveries/${encodeURIComponent(d!.id)}/cancel`, { token: key });
  });

  test('a destination that answers 410 Gone is disabled with a reason, visible in the API', async () => {
    const gone = await receiver(() => ({ status: 410, body: 'this integration was removed' }));
    const dest = await createDestination(gone.url);
    const [d] = await send(`gone-${run}`);
    await eventually(async () => (await delivery(d!.id)).status === 'failed', 'failed on 410');
    const view = (await stack.call('GET', `/v1/destinations/${dest}`, { token: key })).body;
    assert.equal(view.enabled, false);
    assert.match(view.disabled_reason, /410 Gone/);
    assert.equal(gone.requests.length, 1, 'a 410 is not retried');
    const later = await send(`after-gone-${run}`);
    assert.ok(!later.some((x) => x.id.includes(dest)), 'a disabled destination gets no new deliveries');
  });

  test('a destination that fails every delivery for 5 days is disabled with a reason', async () => {
    const failing = await receiver(() => ({ status: 500 }));
    const dest = await createDestination(failing.url, [0]);
    // The worker's streak bookkeeping: a failed attempt opens a streak, a 2xx closes it.
    const observer = createFailingStreak({ streaks: stack.core.store.failingStreaks, destinations: stack.core.store.destinations });
    const [d] = await send(`streak-${run}`);
    await eventually(async () => (await delivery(d!.id)).status === 'failed', 'failed');
    assert.ok(await observer.since(dest), 'the failed attempt opened a streak');

    // Five days pass on an injected clock (same database, same rules as the worker's).
    let clock = Date.now();
    const streak = createFailingStreak({ streaks: stack.core.store.failingStreaks, destinations: stack.core.store.destinations, now: () => new Date(clock) });
    const attempt = (status: number) => ({ n: 1, started_at: new Date(clock).toISOString(), duration_ms: 3, verdict: status < 300 ? 'delivered' : 'retry', response: { status, headers: {}, body: '', body_truncated: false } }) as const;
    clock += DISABLE_AFTER_FAILING_MS - 3_600_000;
    await streak.record(dest, attempt(503));
    assert.equal((await stack.call('GET', `/v1/destinations/${dest}`, { token: key })).body.enabled, true, 'not yet 5 days');
    clock += 2 * 3_600_000;
    await streak.record(dest, attempt(503));
    const view = (await stack.call('GET', `/v1/destinations/${dest}`, { token: key })).body;
    assert.equal(view.enabled, false);
    assert.match(view.disabled_reason, /every delivery failed for 5 days .*last: HTTP 503/);

    // Re-enabling clears the reason and starts over; one success anywhere in a streak resets it.
    const reenabled = (await stack.call('PATCH', `/v1/destinations/${dest}`, { token: key, body: { enabled: true } })).body;
    assert.equal(reenabled.disabled_reason, null);
    await streak.record(dest, attempt(500));
    clock += 4 * 86_400_000;
    await streak.record(dest, attempt(200));
    assert.equal(await streak.since(dest), undefined);
    clock += 2 * 86_400_000;
    await streak.record(dest, attempt(500));
    assert.equal((await stack.call('GET', `/v1/destinations/${dest}`, { token: key })).body.enabled, true);
  });
});
