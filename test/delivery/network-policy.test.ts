import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { cidrProblem, createNetworkPolicy, ipLiteral } from '../../src/delivery/network-policy.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';
import { callCompleted } from '../support/events.ts';

const secure = () => createNetworkPolicy({ allowedNetworks: [] });

describe('network policy: the secure default', () => {
  test('only public unicast addresses pass', () => {
    const p = secure();
    for (const a of ['8.8.8.8', '93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '2a00:1450:4001::200e']) assert.equal(p.refuse(a, 443), undefined, a);
  });

  test('loopback, private, ULA, CGNAT, benchmarking and reserved ranges are refused, saying how an operator opens them', () => {
    const p = secure();
    const cases: [string, RegExp][] = [
      ['127.0.0.1', /loopback/],
      ['127.8.9.10', /loopback/],
      ['::1', /loopback/],
      ['10.1.2.3', /private \(RFC 1918\)/],
      ['172.16.5.5', /private \(RFC 1918\)/],
      ['172.31.255.254', /private \(RFC 1918\)/],
      ['192.168.1.10', /private \(RFC 1918\)/],
      ['fd12:3456::1', /unique local/],
      ['fc00::1', /unique local/],
      ['100.64.0.1', /carrier-grade NAT/],
      ['100.127.255.254', /carrier-grade NAT/],
      ['198.18.0.1', /reserved|benchmarking/],
      ['198.19.255.1', /reserved|benchmarking/],
      ['2001:2::1', /benchmarking/],
      ['192.0.2.1', /reserved/],
      ['203.0.113.9', /reserved/],
      ['240.0.0.1', /reserved/],
      ['2001:db8::1', /reserved/],
    ];
    for (const [a, why] of cases) {
      const reason = p.refuse(a, 80);
      assert.ok(reason, `${a} must be refused`);
      assert.match(reason, why, a);
      assert.match(reason, /VOICEOI_ALLOWED_NETWORKS/, a);
      assert.match(reason, /allowed_networks/, a);
    }
  });

  test('link-local, multicast, unspecified, broadcast and metadata addresses are refused as never contacted', () => {
    const p = secure();
    for (const a of [
      '169.254.169.254', '169.254.0.1', '169.254.170.2', 'fe80::1', 'fd00:ec2::254', '100.100.100.200', '192.0.0.192', '168.63.129.16',
      '224.0.0.1', '239.255.255.250', 'ff02::1', '0.0.0.0', '0.1.2.3', '::', '255.255.255.255',
    ]) {
      const reason = p.refuse(a, 80);
      assert.ok(reason, a);
      assert.match(reason, /never contacted \(no allow-list opens it\)/, a);
    }
    assert.match(p.refuse('169.254.169.254', 80)!, /metadata/);
    assert.match(p.refuse('fd00:ec2::254', 80)!, /metadata/);
    assert.match(p.refuse('100.100.100.200', 80)!, /metadata/);
  });

  test('IPv6 forms that embed an IPv4 are judged by the IPv4 inside', () => {
    const p = secure();
    const loopbackForms: [string, string][] = [
      ['::ffff:127.0.0.1', 'IPv4-mapped'],
      ['::ffff:7f00:1', 'IPv4-mapped'],
      ['::ffff:0:7f00:1', 'IPv4-translated'],
      ['64:ff9b::127.0.0.1', 'NAT64'],
      ['64:ff9b:1::7f00:1', 'NAT64'],
      ['2002:7f00:1::1', '6to4'],
      ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo'],
      ['::7f00:1', 'IPv4-compatible'],
    ];
    for (const [a, form] of loopbackForms) {
      const reason = p.refuse(a, 80);
      assert.ok(reason, a);
      assert.match(reason, new RegExp(`${form}, carrying 127\\.0\\.0\\.1\\) is a loopback address`), a);
    }
    // The local-use NAT64 prefix may carry the IPv4 at /48 as well as at /96: both are judged.
    assert.match(p.refuse('64:ff9b:1:7f00:1::', 80)!, /NAT64/);
    assert.match(p.refuse('::ffff:169.254.169.254', 80)!, /metadata.*never contacted/);
    assert.match(p.refuse('64:ff9b::a9fe:a9fe', 80)!, /metadata/);
    assert.match(p.refuse('2002:a00:1::', 80)!, /carrying 10\.0\.0\.1\) is a private/);
    assert.match(p.refuse('::ffff:100.100.100.200', 80)!, /metadata/);
    // The same forms around a public IPv4 pass: nothing here is refused for its spelling alone.
    for (const a of ['::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1', '2001:0:808:808::f7f7:f7f7', '::808:808'])
      assert.equal(p.refuse(a, 80), undefined, a);
  });

  test('odd IPv4 spellings are read the way resolvers read them', () => {
    const p = secure();
    for (const host of ['2130706433', '0x7f.1', '0177.0.0.1', '127.1', '0x7f000001']) {
      assert.equal(ipLiteral(host), '127.0.0.1', host);
      assert.match(p.refuse(host, 80)!, /^127\.0\.0\.1 is a loopback address/, host);
    }
    // What the URL parser hands on is already normalised; both paths agree.
    for (const u of ['http://2130706433/', 'http://0x7f.1/', 'http://0177.0.0.1/', 'http://[::ffff:127.0.0.1]/'])
      assert.ok(p.refuse(ipLiteral(new URL(u).hostname)!, 80), u);
    assert.equal(ipLiteral('crm.example.com'), undefined);
    assert.equal(ipLiteral('localhost'), undefined);
  });
});

describe('network policy: operator allow-lists', () => {
  test('the install-wide list opens its networks, and only those', () => {
    const p = createNetworkPolicy({ allowedNetworks: ['10.20.0.0/16', 'fd00:1234::/32'] });
    assert.equal(p.refuse('10.20.3.4', 80), undefined);
    assert.equal(p.refuse('fd00:1234::5', 80), undefined);
    assert.equal(p.refuse('::ffff:10.20.3.4', 80), undefined, 'a mapped form of an allowed address is allowed');
    assert.ok(p.refuse('10.21.0.1', 80));
    assert.ok(p.refuse('192.168.1.1', 80));
  });

  test('an account list opens its networks for that account only', () => {
    const p = secure();
    assert.equal(p.refuse('10.9.8.7', 80, ['10.9.0.0/16']), undefined);
    assert.ok(p.refuse('10.9.8.7', 80, []));
    assert.ok(p.refuse('10.9.8.7', 80, ['10.8.0.0/16']));
  });

  test('no allow-list opens link-local, metadata, multicast, unspecified or broadcast addresses', () => {
    const p = createNetworkPolicy({ allowedNetworks: ['0.0.0.0/0', '::/0'] });
    for (const a of ['169.254.169.254', 'fe80::1', 'fd00:ec2::254', '100.100.100.200', '224.0.0.1', '0.0.0.0', '::', '255.255.255.255', '::ffff:169.254.169.254'])
      assert.match(p.refuse(a, 80)!, /never contacted/, a);
    assert.equal(p.refuse('10.0.0.1', 80), undefined);
    assert.equal(p.refuse('100.100.100.201', 80), undefined, 'CGNAT itself can be opened; its metadata address cannot');
  });

  test('a CIDR that is not one gets a precise message', () => {
    const cases: [string, RegExp][] = [
      ['10.0.0.0', /not a CIDR such as 10\.20\.0\.0\/16/],
      ['10.0.0.0/33', /prefix length must be a number from 0 to 32/],
      ['fd00::/129', /from 0 to 128/],
      ['10.1.2.3/8', /bits set past its \/8 prefix: write 10\.0\.0\.0\/8/],
      ['crm.internal/24', /'crm\.internal' is not an IPv4 or IPv6 address/],
      ['169.254.0.0/16', /only link-local addresses, which no allow-list opens/],
      ['224.0.0.0/4', /only multicast/],
      ['::ffff:0:0/96', /judged by the IPv4 inside: list the IPv4 network instead/],
    ];
    for (const [c, why] of cases) assert.match(cidrProblem(c) ?? 'accepted', why, c);
    for (const c of ['10.0.0.0/8', '127.0.0.1/32', 'fd00::/8', '0.0.0.0/0', '169.254.0.0/15']) assert.equal(cidrProblem(c), undefined, c);
    assert.throws(() => createNetworkPolicy({ allowedNetworks: ['10.0.0.0'] }), /VOICEOI_ALLOWED_NETWORKS: '10\.0\.0\.0' is not a CIDR/);
  });
});

describe('network policy: the product’s own listeners', () => {
  const interfaceAddress = Object.values(networkInterfaces()).flat().find((i) => i && !i.internal)?.address;

  test('are refused on every address of this host, even inside an allowed network', () => {
    const p = createNetworkPolicy({ allowedNetworks: ['0.0.0.0/0', '::/0'], ownListeners: [{ name: 'API (PORT)', port: 3000 }] });
    for (const a of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1', ...(interfaceAddress ? [interfaceAddress] : [])]) {
      const reason = p.refuse(a, 3000);
      assert.ok(reason, a);
      assert.match(reason, /this product's own API \(PORT\), which is never a destination, even inside an allowed network/, a);
    }
    assert.equal(p.refuse('127.0.0.1', 3001), undefined, 'another port of this host is an ordinary allowed address');
    assert.equal(p.refuse('10.1.1.1', 3000), undefined, 'the same port on another host is not ours');
  });

  test('a listener on another host is matched by its address and port', () => {
    const p = createNetworkPolicy({ allowedNetworks: ['10.0.0.0/8'], ownListeners: [{ name: 'database (DATABASE_URL)', port: 5432, addresses: ['10.5.0.9'] }] });
    assert.match(p.refuse('10.5.0.9', 5432)!, /own database \(DATABASE_URL\)/);
    assert.equal(p.refuse('10.5.0.8', 5432), undefined);
    assert.equal(p.refuse('127.0.0.1', 5432, ['127.0.0.0/8']), undefined, 'a remote listener does not make the port ours locally');
  });

  test('listeners learned after start are refused too', () => {
    const p = createNetworkPolicy({ allowedNetworks: ['127.0.0.0/8'] });
    assert.equal(p.refuse('127.0.0.1', 45678), undefined);
    p.addOwnListener({ name: 'API', port: 45678 });
    assert.match(p.refuse('127.0.0.1', 45678)!, /own API/);
  });

  test('a port learned again keeps the name it was first given (the dev server lists ports the configuration already named)', () => {
    const p = createNetworkPolicy({ allowedNetworks: ['127.0.0.0/8', '10.0.0.0/8'], ownListeners: [{ name: 'Temporal frontend (gRPC)', port: 7233 }] });
    p.addOwnListener({ name: 'Temporal dev server', port: 7233 });
    p.addOwnListener({ name: 'database (DATABASE_URL)', port: 5432, addresses: ['10.5.0.9'] });
    p.addOwnListener({ name: 'database again', port: 5432, addresses: ['10.5.0.9', '10.5.0.10'] });
    assert.match(p.refuse('127.0.0.1', 7233)!, /own Temporal frontend \(gRPC\)/);
    assert.match(p.refuse('10.5.0.9', 5432)!, /own database \(DATABASE_URL\)/);
    assert.match(p.refuse('10.5.0.10', 5432)!, /own database again/, 'a new address of a known port is still learned');
  });
});

describe('refusal at delivery time', () => {
  let stack: Stack;
  let receiver: Receiver;
  before(async () => {
    // No operator list: the secure default as `npm start` has it.
    stack = await startStack({ VOICEOI_ALLOWED_NETWORKS: '' });
    receiver = await startReceiver();
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  const localhostUrl = () => receiver.url.replace('127.0.0.1', 'localhost');

  test('a host name resolving to loopback is refused on the address it resolves to when the connection is made', async () => {
    const key = (await stack.createAccount()).api_key;
    const url = localhostUrl();
    const created = await stack.call('POST', '/v1/destinations', { token: key, body: { url, event_types: ['call_completed'] } });
    assert.equal(created.status, 400, 'refused at creation too');
    assert.equal(created.body.code, 'destination_address_refused');
    assert.match(created.body.message, /^url: localhost resolves to 127\.0\.0\.1 is a loopback address/);
    // Written straight to the store, as if the name had resolved elsewhere at creation (DNS rebinding).
    const account = (await stack.core.store.accounts.findByApiKey(key))!;
    const dest = await stack.core.store.destinations.create(account.id, { url, event_types: ['call_completed'], retry_schedule_s: [0, 0.1] });
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_rebind') });
    assert.equal(res.body.deliveries[0].destination_id, dest.id);
    const state = await settled(stack, key, res.body.deliveries[0].id);
    assert.equal(state.status, 'failed');
    assert.equal(state.attempts.length, 1, 'a refused address is not retried');
    assert.equal(state.attempts[0]!.error?.code, 'address_refused');
    assert.match(state.attempts[0]!.error!.message, /localhost resolves to 127\.0\.0\.1 is a loopback address/);
    assert.equal(receiver.requests.length, 0);
  });

  test('an account the operator opened loopback for reaches it; another account on the same URL still does not', async () => {
    const opened = await stack.createAccount('Opened');
    const other = await stack.createAccount('Other');
    const patched = await stack.call('PATCH', `/v1/accounts/${opened.id}`, { token: stack.adminToken, body: { allowed_networks: ['127.0.0.0/8', '::1/128'] } });
    assert.equal(patched.status, 200);
    const url = `${localhostUrl()}/crm`;
    const mine = await stack.call('POST', '/v1/destinations', { token: opened.api_key, body: { url, event_types: ['call_completed'] } });
    assert.equal(mine.status, 201, JSON.stringify(mine.body));
    const theirs = await stack.call('POST', '/v1/destinations', { token: other.api_key, body: { url, event_types: ['call_completed'] } });
    assert.equal(theirs.status, 400);
    await stack.core.store.destinations.create(other.id, { url, event_types: ['call_completed'] });

    // The opened account first, so a kept-alive connection to the receiver exists when the other tries.
    const first = await stack.call('POST', '/v1/events', { token: opened.api_key, body: callCompleted('evt_opened') });
    assert.equal((await settled(stack, opened.api_key, first.body.deliveries[0].id)).status, 'delivered');
    const second = await stack.call('POST', '/v1/events', { token: other.api_key, body: callCompleted('evt_other') });
    const state = await settled(stack, other.api_key, second.body.deliveries[0].id);
    assert.equal(state.status, 'failed');
    assert.equal(state.attempts[0]!.error?.code, 'address_refused');
    assert.deepEqual(receiver.requests.map((r) => r.headers['webhook-id']), ['evt_opened']);
  });

  test('a stored link-local URL is refused at delivery time, whatever passed at creation', async () => {
    const key = (await stack.createAccount()).api_key;
    const account = (await stack.core.store.accounts.findByApiKey(key))!;
    await stack.core.store.destinations.create(account.id, { url: 'http://169.254.169.254/latest/meta-data', event_types: ['call_completed'] });
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_metadata') });
    const state = await settled(stack, key, res.body.deliveries[0].id);
    assert.equal(state.status, 'failed');
    assert.equal(state.attempts[0]!.error?.code, 'address_refused');
    assert.match(state.attempts[0]!.error!.message, /169\.254\.169\.254 is the cloud instance metadata service, which is never contacted/);
  });
});
