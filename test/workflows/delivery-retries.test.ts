import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { schedulesAttempt } from '../../src/activities/names.ts';
import { recordsAttempt } from '../../src/deliveries/runs.ts';
import { startReceiver, type Receiver, type Reply } from '../support/receiver.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';
import { callCompleted } from '../support/events.ts';

describe('delivery workflow: retries, give-ups and durability', () => {
  let stack: Stack;
  let key: string;
  const receivers: Receiver[] = [];

  before(async () => {
    stack = await startStack();
    key = (await stack.createAccount()).api_key;
  });
  after(async () => {
    await stack.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  async function destinationAnswering(replies: Reply[], retry_schedule_s: number[]) {
    const receiver = await startReceiver((_req, i) => replies[Math.min(i, replies.length - 1)]!);
    receivers.push(receiver);
    // A fresh account per scenario, so each event fans out to this one destination only.
    key = (await stack.createAccount()).api_key;
    const d = await stack.call('POST', '/v1/destinations', { token: key, body: { url: receiver.url, event_types: ['call_completed'], retry_schedule_s } });
    assert.equal(d.status, 201);
    return { receiver, destinationId: d.body.id as string };
  }

  const finalState = (deliveryId: string) => settled<any>(stack, key, deliveryId);

  test('500, 500, 200: three attempts recorded with their statuses, then delivered', async () => {
    const { receiver } = await destinationAnswering([{ status: 500, body: 'boom' }, { status: 503 }, { status: 200, body: '{"ok":true}' }], [0, 0.2, 0.2]);
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_500') });
    const state = await finalState(res.body.deliveries[0].id);
    assert.equal(state.status, 'delivered');
    assert.deepEqual(state.attempts.map((a: any) => [a.n, a.response.status, a.verdict]), [[1, 500, 'retry'], [2, 503, 'retry'], [3, 200, 'delivered']]);
    assert.equal(state.attempts[0].response.body, 'boom');
    assert.equal(receiver.requests.length, 3);
    // Every attempt carries the same webhook-id and its own attempt number.
    assert.deepEqual(receiver.requests.map((r) => [r.headers['webhook-id'], r.headers['x-voiceoi-attempt']]), [['evt_500', '1'], ['evt_500', '2'], ['evt_500', '3']]);
    // Each attempt has its own record in the history, the audit log: the first a local activity's
    // marker (it ran in the workflow task that started the delivery), the retries activities.
    const history = await stack.client.workflow.getHandle(res.body.deliveries[0].id).fetchHistory();
    assert.equal(history.events!.filter(recordsAttempt).length, 3);
    assert.equal(history.events!.filter(schedulesAttempt).length, 2);
  });

  test('400: one attempt, status failed, no retry', async () => {
    const { receiver } = await destinationAnswering([{ status: 400, body: 'bad lead' }], [0, 0.1, 0.1]);
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_400') });
    const state = await finalState(res.body.deliveries[0].id);
    assert.equal(state.status, 'failed');
    assert.equal(state.attempts.length, 1);
    assert.equal(state.attempts[0].response.status, 400);
    assert.match(state.reason, /HTTP 400/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(receiver.requests.length, 1);
  });

  test('the schedule runs out: status failed with the last error', async () => {
    const { receiver } = await destinationAnswering([{ status: 502 }], [0, 0.1, 0.1]);
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_exhaust') });
    const state = await finalState(res.body.deliveries[0].id);
    assert.equal(state.status, 'failed');
    assert.equal(state.attempts.length, 3);
    assert.match(state.reason, /gave up after 3 attempts: HTTP 502/);
    assert.equal(receiver.requests.length, 3);
  });

  test('429 with Retry-After: 2 — the next attempt comes no sooner than 2 s later', async () => {
    const { receiver } = await destinationAnswering([{ status: 429, headers: { 'retry-after': '2' } }, { status: 200 }], [0, 0, 0]);
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_429') });
    const state = await finalState(res.body.deliveries[0].id);
    assert.equal(state.status, 'delivered');
    assert.equal(state.attempts[0].retry_after_ms, 2000);
    const [first, second] = receiver.requests;
    assert.ok(second!.at - first!.at >= 2000, `second attempt ${second!.at - first!.at} ms after the first`);
  });

  test('a connection refused is retried and recorded as a network error', async () => {
    key = (await stack.createAccount()).api_key;
    await stack.call('POST', '/v1/destinations', { token: key, body: { url: 'http://127.0.0.1:9/closed', event_types: ['call_completed'], retry_schedule_s: [0, 0.1] } });
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_refused') });
    const state = await finalState(res.body.deliveries[0].id);
    assert.equal(state.status, 'failed');
    assert.equal(state.attempts.length, 2);
    assert.equal(state.attempts[0].error.code, 'network_econnrefused');
    assert.equal(state.attempts[0].response, undefined);
  });

  test('the worker stops during a retry wait and a new one finishes the delivery', async () => {
    const { receiver } = await destinationAnswering([{ status: 503 }, { status: 200 }], [0, 3]);
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_crash') });
    await receiver.waitFor(1);
    const id = res.body.deliveries[0].id;
    await eventually(async () => (await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}`, { token: key })).body.status === 'retrying', 'retrying');
    await stack.stopWorker();
    // With no worker the timer still fires inside Temporal; the attempt waits for a worker.
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal(receiver.requests.length, 1);
    await stack.startWorker();
    await receiver.waitFor(2);
    const state = await finalState(id);
    assert.equal(state.status, 'delivered');
    assert.deepEqual(state.attempts.map((a: any) => a.response.status), [503, 200]);
  });
});
