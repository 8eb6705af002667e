import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createNetworkPolicy } from '../../src/delivery/network-policy.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';
import { callCompleted } from '../support/events.ts';

describe('network policy', () => {
  test('link-local and metadata addresses are always refused, in every spelling', () => {
    const open = createNetworkPolicy({ blockPrivateNetworks: false, allowedNetworks: [] });
    for (const a of ['169.254.169.254', '169.254.0.1', 'fe80::1', '::ffff:169.254.169.254', 'fd00:ec2::254', '0.0.0.0', '224.0.0.1'])
      assert.ok(open.refuse(a), a);
    for (const a of ['127.0.0.1', '10.1.2.3', '192.168.1.10', '8.8.8.8', '::1', '2001:db8::1']) assert.equal(open.refuse(a), undefined, a);
  });

  test('private networks are refused only when blocked, except the allowed CIDRs', () => {
    const closed = createNetworkPolicy({ blockPrivateNetworks: true, allowedNetworks: ['10.20.0.0/16'] });
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.5.5', '192.168.1.10', '::1', 'fd12::1', '::ffff:10.0.0.1']) assert.ok(closed.refuse(a), a);
    assert.equal(closed.refuse('10.20.3.4'), undefined);
    assert.equal(closed.refuse('93.184.216.34'), undefined);
    assert.ok(closed.refuse('169.254.169.254'), 'the allow-list never opens link-local');
  });

  test('a malformed CIDR fails at start-up with a clear message', () => {
    assert.throws(() => createNetworkPolicy({ blockPrivateNetworks: true, allowedNetworks: ['10.0.0.0'] }), /not a CIDR/);
    assert.throws(() => createNetworkPolicy({ blockPrivateNetworks: true, allowedNetworks: ['10.0.0.0/33'] }), /prefix/);
  });
});

describe('refusal at delivery time', () => {
  let stack: Stack;
  let receiver: Receiver;
  before(async () => {
    stack = await startStack({ VOICEOI_BLOCK_PRIVATE_NETWORKS: 'true' });
    receiver = await startReceiver();
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  test('a host name is checked on the address it resolves to when the connection is made', async () => {
    const key = (await stack.createAccount()).api_key;
    // 'localhost' is a name, so the check happens in the connection's own DNS lookup (no rebinding gap).
    const url = receiver.url.replace('127.0.0.1', 'localhost');
    const created = await stack.call('POST', '/v1/destinations', { token: key, body: { url, event_types: ['call_completed'] } });
    assert.equal(created.status, 400, 'refused at creation too');
    // Written straight to the store, as if the name had resolved elsewhere at creation (DNS rebinding).
    const account = (await stack.core.store.accounts.findByApiKey(key))!;
    const dest = await stack.core.store.destinations.create(account.id, { url, event_types: ['call_completed'], retry_schedule_s: [0, 0.1] });
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_rebind') });
    const state = await settled<any>(stack, key, res.body.deliveries[0].id);
    assert.equal(state.status, 'failed');
    assert.equal(dest.id, res.body.deliveries[0].destination_id);
    assert.equal(state.attempts.length, 1, 'a refused address is not retried');
    assert.equal(state.attempts[0].error.code, 'address_refused');
    assert.match(state.attempts[0].error.message, /localhost resolves to .*private or loopback/);
    assert.equal(receiver.requests.length, 0);
  });

  test('a stored link-local URL is refused at delivery time, whatever passed at creation', async () => {
    const key = (await stack.createAccount()).api_key;
    const account = (await stack.core.store.accounts.findByApiKey(key))!;
    await stack.core.store.destinations.create(account.id, { url: 'http://169.254.169.254/latest/meta-data', event_types: ['call_completed'] });
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_metadata') });
    const state = await settled<any>(stack, key, res.body.deliveries[0].id);
    assert.equal(state.status, 'failed');
    assert.equal(state.attempts[0].error.code, 'address_refused');
    assert.match(state.attempts[0].error.message, /169\.254\.169\.254/);
  });
});
