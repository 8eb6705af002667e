import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AttemptInput, OutgoingRequest } from '../../workflows/types.ts';
import { performAttempt, type AttemptDeps } from '../../src/delivery/attempt.ts';
import { createDeliveryAgent } from '../../src/delivery/http-client.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { startApi, type TestApi } from '../support/api.ts';
import { createDestination } from '../support/resources.ts';

// The transform's output check (sandboxes/result-shape.ts) refuses these first. The attempt checks
// again what it sends, for outputs recorded in history before a rule existed: defence in depth.
describe('the attempt re-checks what a transform asked it to send', () => {
  let stack: TestApi;
  let receiver: Receiver;
  let deps: AttemptDeps;
  let base: Omit<AttemptInput, 'request'>;

  before(async () => {
    stack = await startApi();
    receiver = await startReceiver();
    const account = await stack.createAccount();
    const dest = await createDestination(stack, account.api_key, { url: `${receiver.url}/hooks/in` });
    deps = { destinations: stack.core.store.destinations, agent: createDeliveryAgent(stack.core.policy), policy: stack.core.policy, version: 'test' };
    base = { accountId: account.id, deliveryId: 'delivery:test', destinationId: dest.id, event: { ...callCompleted('evt_defence'), account_id: account.id }, attempt: 1 };
  });
  after(async () => {
    await deps.agent.close();
    await stack.stop();
    await receiver.close();
  });

  const attempt = (request: OutgoingRequest) => performAttempt(deps, { ...base, request });

  test('a path that resolves outside the destination\'s path (also through %2e segments) is refused', async () => {
    for (const path of ['/../admin', '/a/%2e%2e/%2e%2e/admin', '/.%2E/x']) {
      const record = await attempt({ method: 'POST', path, body: {} });
      assert.equal(record.verdict, 'failed', path);
      assert.equal(record.error?.code, 'path_refused', path);
    }
    assert.equal(receiver.requests.length, 0);
    const ok = await attempt({ method: 'POST', path: '/leads/884', body: {} });
    assert.equal(ok.verdict, 'delivered');
    assert.equal(receiver.requests.at(-1)!.url, '/hooks/in/leads/884');
  });

  test('reserved headers are dropped, an unsendable header value fails the attempt instead of retrying', async () => {
    const sent = await attempt({ method: 'POST', body: {}, headers: { Origin: 'http://127.0.0.1:8233', 'X-Forwarded-For': '10.0.0.1', 'webhook-signature': 'v1,forged', 'X-Ok': 'fine' } });
    assert.equal(sent.verdict, 'delivered');
    const got = receiver.requests.at(-1)!;
    assert.equal(got.headers.origin, undefined);
    assert.equal(got.headers['x-forwarded-for'], undefined);
    assert.notEqual(got.headers['webhook-signature'], 'v1,forged');
    assert.equal(got.headers['x-ok'], 'fine');

    const before = receiver.requests.length;
    const bad = await attempt({ method: 'POST', body: {}, headers: { 'X-Note': 'ring \u0007' } });
    assert.equal(bad.verdict, 'failed');
    assert.equal(bad.error?.code, 'invalid_request_header');
    assert.equal(receiver.requests.length, before);
  });
});
