import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AttemptInput, AttemptRecord } from '../../workflows/types.ts';
import { performAttempt, type AttemptDeps } from '../../src/delivery/attempt.ts';
import { createDeliveryAgent } from '../../src/delivery/http-client.ts';
import { jsonSize, RECORDED_LIMITS, TRUNCATED_HEADERS_KEY } from '../../src/delivery/recorded.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { createDestination } from '../support/resources.ts';

/** What one attempt may weigh in history, as JSON (src/delivery/recorded.ts). */
const ATTEMPT_BOUND = 64 * 1024;
// 40 KiB of control characters: 240 KiB once escaped as JSON.
const hostile = '\u0001'.repeat(40 * 1024);

const assertBounded = (record: AttemptRecord) => {
  const { request, response } = record;
  assert.ok(request, 'the request is recorded');
  assert.ok(jsonSize(request.body) <= RECORDED_LIMITS.body, `request body ${jsonSize(request.body)} B`);
  assert.equal(request.body_truncated, true);
  assert.ok(request.body.length > 0 && request.body.startsWith('{"note":"'), 'the excerpt is the start of the body');
  assert.ok(request.body_bytes > 40 * 1024, 'the size is the full body’s');
  assert.ok(Buffer.byteLength(JSON.stringify(request.headers)) <= RECORDED_LIMITS.headers);
  if (response) {
    assert.ok(jsonSize(response.body) <= RECORDED_LIMITS.body, `response body ${jsonSize(response.body)} B`);
    assert.equal(response.body_truncated, true);
    assert.ok(Buffer.byteLength(JSON.stringify(response.headers)) <= RECORDED_LIMITS.headers);
    assert.ok(response.headers[TRUNCATED_HEADERS_KEY], 'the headers say they were cut');
  }
  assert.ok(Buffer.byteLength(JSON.stringify(record)) <= ATTEMPT_BOUND, `the record weighs ${Buffer.byteLength(JSON.stringify(record))} B`);
};

describe('every record an attempt answers is bounded, whichever stage ended it', () => {
  let api: TestApi;
  let receiver: Receiver;
  let closed: Receiver;
  let deps: AttemptDeps;
  let accountId: string;
  let token: string;

  before(async () => {
    api = await startApi();
    receiver = await startReceiver(() => ({ status: 503, headers: { 'retry-after': '7', 'x-padding': 'p'.repeat(12 * 1024) }, body: hostile }));
    // A port nothing listens on any more: the send fails with a network error.
    closed = await startReceiver();
    await closed.close();
    ({ id: accountId, api_key: token } = await api.createAccount());
    deps = { destinations: api.core.store.destinations, agent: createDeliveryAgent(api.core.policy), policy: api.core.policy, version: 'test' };
  });
  after(async () => {
    await deps.agent.close();
    await api.stop();
    await receiver.close();
  });

  const attemptTo = async (url: string): Promise<AttemptRecord> => {
    const dest = await createDestination(api, token, { url });
    const input: AttemptInput = {
      accountId,
      deliveryId: `delivery:${dest.id}:evt_bounded`,
      destinationId: dest.id,
      event: { ...callCompleted('evt_bounded'), account_id: accountId },
      attempt: 1,
      request: { method: 'POST', body: { note: hostile } },
    };
    return performAttempt(deps, input);
  };

  test('answered: a mapping’s large body and a receiver’s large headers and body are cut; Retry-After is still read', async () => {
    const record = await attemptTo(`${receiver.url}/in`);
    assert.equal(record.verdict, 'retry');
    assert.equal(record.response?.status, 503);
    assert.equal(record.retry_after_ms, 7000);
    assert.equal(receiver.requests.at(-1)!.body.length, JSON.stringify({ note: hostile }).length, 'the whole body was sent');
    assertBounded(record);
  });

  test('not answered: the network error’s record keeps the request, cut the same way', async () => {
    const record = await attemptTo(`${closed.url}/in`);
    assert.equal(record.verdict, 'retry');
    assert.match(record.error?.code ?? '', /^network_/);
    assert.equal(record.response, undefined);
    assertBounded(record);
  });
});
