import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startCallRetention } from '../../src/erasure/retention-job.ts';
import { erasureFor } from '../../src/runtime.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { createDestination } from '../support/resources.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';

const DAY = 86_400_000;

describe('per-account data retention: the worker shreds calls older than their account keeps them', () => {
  let stack: Stack;
  let receiver: Receiver;
  before(async () => {
    stack = await startStack();
    receiver = await startReceiver();
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  test('with a clock the test controls: a 2-day account\'s call goes after 2 days, a default (30-day) account\'s after 30', async () => {
    const short = await stack.createAccount('Short');
    const long = await stack.createAccount('Long');
    const set = await stack.call('PATCH', `/v1/accounts/${short.id}`, { token: stack.adminToken, body: { data_retention_days: 2 } });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.data_retention_days, 2);
    assert.equal((await stack.call('PATCH', `/v1/accounts/${short.id}`, { token: short.api_key, body: { data_retention_days: 1 } })).status, 403, 'only the admin sets it');
    const bad = await stack.call('PATCH', `/v1/accounts/${short.id}`, { token: stack.adminToken, body: { data_retention_days: 0 } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /data_retention_days/);

    const deliver = async (account: { api_key: string }) => {
      await createDestination(stack, account.api_key, { url: receiver.url, event_types: ['call_completed'] });
      const callId = `call-${randomBytes(4).toString('hex')}`;
      const r = await stack.call('POST', '/v1/events', { token: account.api_key, body: callCompleted(`evt_${randomBytes(4).toString('hex')}`, { call_id: callId }) });
      assert.equal(r.status, 202);
      const id = r.body.deliveries[0].id as string;
      await settled(stack, account.api_key, id);
      return { callId, id };
    };
    const a = await deliver(short);
    const b = await deliver(long);

    const lines: string[] = [];
    const log = { info: (obj: object, msg: string) => lines.push(`${msg} ${JSON.stringify(obj)}`), warn: (obj: object, msg: string) => lines.push(`WARN ${msg}`) };
    let clock = Date.now();
    const job = startCallRetention({
      calls: stack.core.store.calls,
      erasure: erasureFor(stack.core, stack.client, stack.taskQueue),
      defaultDays: 30,
      log,
      now: () => clock,
      everyMs: 3_600_000,
    });
    try {
      await job.first;
      assert.deepEqual(lines, [], 'nothing is old yet');

      clock += 3 * DAY;
      await job.runOnce();
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /^shredded 1 calls past their data retention \{"calls":1,"deliveries":1\}/);
      const gone = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(a.id)}`, { token: short.api_key });
      assert.equal(gone.body.erased, true);
      assert.equal(gone.body.status, 'delivered');
      assert.equal((await stack.call('GET', `/v1/deliveries/${encodeURIComponent(a.id)}/event`, { token: short.api_key })).status, 410);
      const call = await stack.call('GET', `/v1/calls/${a.callId}`, { token: short.api_key });
      assert.equal(call.body.erased_by, 'retention');
      const kept = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(b.id)}/event`, { token: long.api_key });
      assert.equal(kept.status, 200, 'the 30-day account keeps its call');

      clock += 28 * DAY;
      await job.runOnce();
      assert.match(lines[1]!, /^shredded 1 calls/);
      assert.equal((await stack.call('GET', `/v1/deliveries/${encodeURIComponent(b.id)}/event`, { token: long.api_key })).status, 410);
    } finally {
      await job.stop();
    }
  });
});
