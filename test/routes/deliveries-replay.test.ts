import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { callCompleted } from '../support/events.ts';
import { createDestination } from '../support/resources.ts';

describe('replay: retry, recover, cancel', () => {
  let stack: Stack;
  let receiver: Receiver;
  let healthy = false;
  let key: string;
  const run = randomBytes(4).toString('hex');

  const delivery = async (id: string) => (await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}`, { token: key })).body;
  const untilStatus = (id: string, status: string) => eventually(async () => (await delivery(id)).status === status, `${id} ${status}`);
  // A failed delivery reads failed a moment before its run closes (it first emits hook.delivery_failed).
  const untilClosed = (id: string, status: string) =>
    eventually(async () => {
      const d = await delivery(id);
      return d.status === status && d.workflow.status !== 'RUNNING' ? d : undefined;
    }, `${id} ${status}, its run closed`);
  // A fresh account per destination, so each event fans out to that destination only.
  const destination = async (schedule: number[]) => {
    key = (await stack.createAccount()).api_key;
    return (await createDestination(stack, key, { url: `${receiver.url}/hook`, retry_schedule_s: schedule })).id;
  };
  const send = async (eventId: string) => {
    const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(eventId) });
    assert.equal(r.status, 202);
    return r.body.deliveries[0].id as string;
  };
  const requestsFor = (eventId: string) => receiver.requests.filter((r) => r.headers['webhook-id'] === eventId);

  before(async () => {
    stack = await startStack();
    receiver = await startReceiver(() => (healthy ? { status: 204 } : { status: 503, body: 'maintenance' }));
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  test('retry re-delivers a failed delivery with the same webhook-id, as a new run with its own attempts', async () => {
    healthy = false;
    await destination([0]);
    const eventId = `retry-${run}`;
    const id = await send(eventId);
    const failed = await untilClosed(id, 'failed');
    assert.equal(failed.attempts.length, 1);

    healthy = true;
    const r = await stack.call('POST', `/v1/deliveries/${encodeURIComponent(id)}/retry`, { token: key });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal(r.body.id, id);
    assert.equal(r.body.replay_of, failed.workflow.run_id);
    assert.notEqual(r.body.run_id, failed.workflow.run_id);
    await untilStatus(id, 'delivered');

    const [first, second] = requestsFor(eventId);
    assert.ok(first && second, 'the receiver saw the original and the replay');
    assert.equal(second.headers['webhook-id'], first.headers['webhook-id']);
    assert.equal(second.headers['x-voiceoi-delivery'], id);
    assert.equal(first.headers['x-voiceoi-attempt'], '1');
    assert.equal(second.headers['x-voiceoi-attempt'], '2', 'attempt numbers continue across runs');
    assert.equal(second.body, first.body);

    const now = await delivery(id);
    assert.equal(now.workflow.run_id, r.body.run_id);
    assert.deepEqual(now.attempts.map((a: { n: number }) => a.n), [2], 'the new run has its own history');
    // The listing shows the delivery as it is now, not its superseded failed run.
    await eventually(async () => {
      const failedList = (await stack.call('GET', `/v1/deliveries?status=failed`, { token: key })).body.items as { id: string }[];
      return !failedList.some((i) => i.id === id);
    }, 'the old failed run left the failed listing');
  });

  test('a delivery is retried the moment it reads failed: the retry waits for its run to close (it emits hook.delivery_failed first)', async (t) => {
    healthy = false;
    await destination([0]);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await send(`retry-at-once-${run}-${i}`));
    const answers = await Promise.all(
      ids.map(async (id) => {
        // Polled closely, to retry each in the moment it first reads failed.
        const failed = await eventually(async () => {
          const d = await delivery(id);
          return d.status === 'failed' ? d : undefined;
        }, `${id} failed`, 20_000, 5);
        const retry = await stack.call('POST', `/v1/deliveries/${encodeURIComponent(id)}/retry`, { token: key });
        return { open: failed.workflow.status === 'RUNNING', retry };
      }),
    );
    for (const a of answers) assert.equal(a.retry.status, 202, JSON.stringify(a.retry.body));
    t.diagnostic(`${answers.filter((a) => a.open).length} of ${answers.length} were retried while their failed run was still open`);
    for (const id of ids) await untilClosed(id, 'failed');
  });

  test('retry of a delivery that is still running is refused (409); cancel stops it', async () => {
    healthy = false;
    await destination([0, 600]);
    const id = await send(`running-${run}`);
    await untilStatus(id, 'retrying');
    await eventually(async () => (await stack.call('GET', '/v1/deliveries?status=retrying', { token: key })).body.items.some((i: { id: string }) => i.id === id), 'VoiceoiStatus retrying');
    const r = await stack.call('POST', `/v1/deliveries/${encodeURIComponent(id)}/retry`, { token: key });
    assert.equal(r.status, 409);
    assert.equal(r.body.code, 'delivery_running');

    const c = await stack.call('POST', `/v1/deliveries/${encodeURIComponent(id)}/cancel`, { token: key });
    assert.equal(c.status, 202);
    assert.equal(c.body.status, 'cancelling');
    await untilStatus(id, 'cancelled');
    assert.equal((await delivery(id)).reason, 'cancelled by request');
    const again = await stack.call('POST', `/v1/deliveries/${encodeURIComponent(id)}/cancel`, { token: key });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'delivery_finished');
    await eventually(async () => (await stack.call('GET', `/v1/deliveries?status=cancelled`, { token: key })).body.items.some((i: { id: string }) => i.id === id), 'cancelled in the listing');
    const missing = await stack.call('POST', `/v1/deliveries/${encodeURIComponent(`delivery:dst_nope:${run}`)}/retry`, { token: key });
    assert.equal(missing.status, 404);
  });

  test('recover re-delivers every failed delivery of a destination since a time, once', async () => {
    healthy = false;
    const dest = await destination([0]);
    const since = new Date(Date.now() - 1000).toISOString();
    const eventIds = [1, 2, 3].map((i) => `recover-${run}-${i}`);
    const ids = [];
    for (const e of eventIds) ids.push(await send(e));
    for (const id of ids) await untilStatus(id, 'failed');
    // Listed failed is enough: recover waits for a failed run that is still closing.
    await eventually(async () => (await stack.call('GET', `/v1/deliveries?status=failed&destination_id=${dest}`, { token: key })).body.items.length === 3, 'failures visible');

    healthy = true;
    const r = await stack.call('POST', `/v1/destinations/${dest}/recover`, { token: key, body: { since } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.recovered, 3);
    assert.deepEqual(r.body.deliveries, [...ids].sort());
    assert.equal(r.body.more, false);
    for (const id of ids) await untilStatus(id, 'delivered');
    for (const e of eventIds) {
      const reqs = requestsFor(e);
      assert.equal(reqs.length, 2, `${e}: original + replay`);
      assert.equal(reqs[1]!.headers['webhook-id'], e);
    }
    const again = await stack.call('POST', `/v1/destinations/${dest}/recover`, { token: key, body: { since } });
    assert.equal(again.body.recovered, 0, 'nothing failed is left to recover');

    const bad = await stack.call('POST', `/v1/destinations/${dest}/recover`, { token: key, body: { since: 'last week' } });
    assert.equal(bad.status, 400);
    await stack.call('PATCH', `/v1/destinations/${dest}`, { token: key, body: { enabled: false } });
    const disabled = await stack.call('POST', `/v1/destinations/${dest}/recover`, { token: key, body: { since } });
    assert.equal(disabled.status, 409);
    assert.equal(disabled.body.code, 'destination_disabled');
  });
});
