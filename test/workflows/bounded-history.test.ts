import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { recordsAttempt } from '../../src/deliveries/runs.ts';
import { RECORDED_LIMITS, jsonSize } from '../../src/delivery/recorded.ts';
import { localActivityOf } from '../../src/temporal/raw-decode.ts';
import { MAX_ATTEMPTS_PER_RUN } from '../../workflows/attempt-limits.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';

/** What one attempt may weigh in history, as JSON (src/delivery/recorded.ts). */
const ATTEMPT_BOUND = 64 * 1024;

describe('history stays bounded: what one attempt records and what one delivery accumulates', () => {
  let stack: Stack;
  let receiver: Receiver;
  const run = randomBytes(4).toString('hex');
  // 96 KiB of control characters: 576 KiB once escaped as JSON, per attempt.
  const hostile = '\u0001'.repeat(96 * 1024);

  before(async () => {
    stack = await startStack();
    receiver = await startReceiver(() => ({ status: 503, headers: { 'x-padding': 'p'.repeat(12 * 1024) }, body: hostile }));
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  test('20 attempts of 503 with 96 KiB of control characters: failed, never terminated, every attempt readable and bounded', async () => {
    const key = (await stack.createAccount()).api_key;
    const attempts = 20;
    const schedule = [0, ...Array<number>(attempts - 1).fill(0.1)];
    const d = await stack.call('POST', '/v1/destinations', { token: key, body: { url: receiver.url, event_types: ['call_completed'], retry_schedule_s: schedule } });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_bounded_${run}`) });
    assert.equal(res.status, 202);
    const id = res.body.deliveries[0].id as string;

    await settled(stack, key, id, 90_000);
    // The final status is visible (queried) a moment before the run is closed: read it once closed.
    await eventually(async () => (await stack.client.workflow.getHandle(id).describe()).status.name === 'COMPLETED', 'the last run to complete');
    const got = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}`, { token: key });
    assert.equal(got.status, 200);
    const state = got.body;
    assert.equal(state.workflow.status, 'COMPLETED');
    assert.equal(state.status, 'failed');
    assert.match(state.reason, /gave up after 20 attempts: HTTP 503/);
    assert.equal(receiver.requests.length, attempts);
    assert.deepEqual(state.attempts.map((a: any) => a.n), Array.from({ length: attempts }, (_, i) => i + 1));
    for (const a of state.attempts) {
      // Full records, the earlier runs' included (read from their histories), each within the bound.
      assert.equal(a.response.status, 503);
      assert.equal(a.response.body_truncated, true);
      assert.ok(a.response.body.length > 0 && [...a.response.body].every((c) => c === '\u0001'), `attempt ${a.n} keeps its body excerpt`);
      assert.ok(jsonSize(a.response.body) <= RECORDED_LIMITS.body, `attempt ${a.n} body ${jsonSize(a.response.body)} B`);
      assert.ok(Buffer.byteLength(JSON.stringify(a.response.headers)) <= RECORDED_LIMITS.headers, `attempt ${a.n} headers`);
      assert.ok(a.response.headers['[truncated]'], `attempt ${a.n} says its headers were cut`);
      assert.ok(Buffer.byteLength(JSON.stringify(a)) <= ATTEMPT_BOUND, `attempt ${a.n} records ${Buffer.byteLength(JSON.stringify(a))} B`);
    }

    // The delivery continued as new instead of growing one history: every run completed or continued.
    // Visibility lags the close that describe() already reports: list once the last run shows there as completed.
    const runs = await eventually(async () => {
      const listed: { status: string; runId: string }[] = [];
      for await (const wf of stack.client.workflow.list({ query: `WorkflowId = '${id}'` })) listed.push({ status: wf.status.name, runId: wf.runId });
      return listed.some((r) => r.runId === state.workflow.run_id && r.status === 'COMPLETED') && listed.every((r) => r.status !== 'RUNNING') ? listed : undefined;
    }, 'every run of the delivery to be listed closed');
    assert.equal(runs.length, Math.ceil(attempts / MAX_ATTEMPTS_PER_RUN));
    assert.deepEqual(runs.map((r) => r.status).sort(), ['COMPLETED', ...Array<string>(runs.length - 1).fill('CONTINUED_AS_NEW')]);
    for (const r of runs) {
      const history = await stack.client.workflow.getHandle(id, r.runId, { followRuns: false }).fetchHistory();
      const attemptsHere = history.events!.filter(recordsAttempt).length;
      assert.ok(attemptsHere <= MAX_ATTEMPTS_PER_RUN, `run ${r.runId} made ${attemptsHere} attempts`);
      // No payload of any run comes near Temporal's 2 MB limit.
      for (const e of history.events!) {
        const payloads = [
          ...(e.activityTaskCompletedEventAttributes?.result?.payloads ?? []),
          ...(localActivityOf(e)?.result ?? []),
          ...(e.workflowExecutionCompletedEventAttributes?.result?.payloads ?? []),
          ...(e.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads ?? []),
        ];
        for (const p of payloads) assert.ok((p.data?.length ?? 0) < 1024 * 1024, `a ${e.eventType} payload of ${p.data?.length} B`);
      }
    }

    // The listing shows the delivery once, failed, with its search attributes carried across runs.
    const listed = await eventually(async () => {
      const r = await stack.call('GET', `/v1/deliveries?destination_id=${d.body.id}&lead_id=884`, { token: key });
      return r.body.items?.length === 1 && r.body.items[0].status === 'failed' ? r.body.items : undefined;
    }, 'the listing to show the delivery failed');
    assert.equal(listed[0].run_id, state.workflow.run_id);
    assert.equal(listed[0].call_id, `call_evt_bounded_${run}`);

    // A replay numbers on after every run of the chain.
    assert.equal((await stack.call('PATCH', `/v1/destinations/${d.body.id}`, { token: key, body: { retry_schedule_s: [0] } })).status, 200);
    const retried = await stack.call('POST', `/v1/deliveries/${encodeURIComponent(id)}/retry`, { token: key });
    assert.equal(retried.status, 202, JSON.stringify(retried.body));
    await receiver.waitFor(attempts + 1);
    assert.equal(receiver.requests[attempts]!.headers['x-voiceoi-attempt'], String(attempts + 1));
  });
});
