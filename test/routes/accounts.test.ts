import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startOAuthServer, type OAuthServer } from '../connections/support/oauth-server.ts';
import { destinationFor, postEvent } from '../connections/support/flows.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';

describe('accounts API: the per-account allow-list', () => {
  let stack: Stack;
  let oauth: OAuthServer;
  let receiver: Receiver;
  before(async () => {
    // No install-wide list: loopback is closed unless an account's own list opens it.
    stack = await startStack({ VOICEOI_ALLOWED_NETWORKS: '' });
    oauth = await startOAuthServer();
    receiver = await startReceiver();
  });
  after(async () => {
    await stack.stop();
    await oauth.close();
    await receiver.close();
  });

  const patch = (id: string, token: string, body: unknown) => stack.call('PATCH', `/v1/accounts/${id}`, { token, body });

  test('the admin sets and reads an account’s allowed networks', async () => {
    const acc = await stack.createAccount('Acme');
    const got = await stack.call('GET', `/v1/accounts/${acc.id}`, { token: stack.adminToken });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.allowed_networks, []);
    assert.equal(got.body.name, 'Acme');
    assert.equal(got.body.api_key, undefined, 'the key is shown at creation only');

    const set = await patch(acc.id, stack.adminToken, { allowed_networks: ['10.20.0.0/16', 'fd00:1234::/32', '10.20.0.0/16'] });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body, { id: acc.id, name: 'Acme', created_at: got.body.created_at, allowed_networks: ['10.20.0.0/16', 'fd00:1234::/32'], ingest_quota: null, stream_retention_hours: null, data_retention_days: null });
    assert.deepEqual((await stack.call('GET', `/v1/accounts/${acc.id}`, { token: stack.adminToken })).body.allowed_networks, ['10.20.0.0/16', 'fd00:1234::/32']);

    const cleared = await patch(acc.id, stack.adminToken, { allowed_networks: [] });
    assert.deepEqual(cleared.body.allowed_networks, []);
  });

  test("the admin sets an account's pull-message retention; null returns it to the install default", async () => {
    const acc = await stack.createAccount('Retention BPO');
    const set = await patch(acc.id, stack.adminToken, { stream_retention_hours: 168 });
    assert.equal(set.status, 200);
    assert.equal(set.body.stream_retention_hours, 168);
    assert.deepEqual(set.body.allowed_networks, [], 'the allow-list is left as it was');
    assert.equal((await patch(acc.id, stack.adminToken, { stream_retention_hours: null })).body.stream_retention_hours, null);
    assert.equal((await patch(acc.id, stack.adminToken, { stream_retention_hours: 0 })).status, 400);
    assert.equal((await patch(acc.id, stack.adminToken, {})).status, 400);
  });

  test('only the admin may change it: an account key gets 403, even for its own account and a bad body', async () => {
    const acc = await stack.createAccount();
    for (const body of [{ allowed_networks: ['127.0.0.0/8'] }, { allowed_networks: ['nonsense'] }]) {
      const r = await patch(acc.id, acc.api_key, body);
      assert.equal(r.status, 403, JSON.stringify(body));
      assert.equal(r.body.code, 'forbidden');
    }
    assert.equal((await stack.call('GET', `/v1/accounts/${acc.id}`, { token: acc.api_key })).status, 403);
    assert.equal((await patch(acc.id, '', { allowed_networks: [] })).status, 401);
    assert.deepEqual((await stack.call('GET', `/v1/accounts/${acc.id}`, { token: stack.adminToken })).body.allowed_networks, []);
  });

  test('an unknown account is 404, a bad CIDR 400 with the entry and the problem named', async () => {
    const missing = await patch('acc_nope', stack.adminToken, { allowed_networks: ['10.0.0.0/8'] });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'account_not_found');
    assert.equal((await stack.call('GET', '/v1/accounts/acc_nope', { token: stack.adminToken })).status, 404);

    const acc = await stack.createAccount();
    const bad = await patch(acc.id, stack.adminToken, { allowed_networks: ['10.0.0.0/8', '10.1.2.3/8', '169.254.0.0/16'] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'validation_error');
    assert.match(bad.body.message, /allowed_networks\.1: '10\.1\.2\.3\/8' has bits set past its \/8 prefix: write 10\.0\.0\.0\/8/);
    assert.match(bad.body.message, /allowed_networks\.2: '169\.254\.0\.0\/16' holds only link-local addresses, which no allow-list opens/);
    const typo = await patch(acc.id, stack.adminToken, { allowed_network: ['10.0.0.0/8'] });
    assert.equal(typo.status, 400, 'an unknown field is not silently ignored');
    assert.deepEqual((await stack.call('GET', `/v1/accounts/${acc.id}`, { token: stack.adminToken })).body.allowed_networks, []);
  });

  test('an account’s list opens destinations and token URLs for that account only, at creation and delivery', async () => {
    const opened = await stack.createAccount('Opened');
    const closed = await stack.createAccount('Closed');
    assert.equal((await patch(opened.id, stack.adminToken, { allowed_networks: ['127.0.0.0/8'] })).status, 200);

    const dest = (token: string) => stack.call('POST', '/v1/destinations', { token, body: { url: `${receiver.url}/crm`, event_types: ['call_completed'] } });
    assert.equal((await dest(opened.api_key)).status, 201);
    const refused = await dest(closed.api_key);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'destination_address_refused');
    assert.match(refused.body.message, /^url: 127\.0\.0\.1 is a loopback address, which destinations may not reach unless an operator opens that network/);

    const cc = (token: string) =>
      stack.call('POST', '/v1/connections', {
        token,
        body: { kind: 'oauth2_client_credentials', name: 'm2m', token_url: oauth.tokenUrl, client_id: oauth.clients.basic.id, client_secret: oauth.clients.basic.secret },
      });
    const tokenRefused = await cc(closed.api_key);
    assert.equal(tokenRefused.status, 400);
    assert.equal(tokenRefused.body.code, 'token_url_address_refused');
    assert.match(tokenRefused.body.message, /^token_url: 127\.0\.0\.1 is a loopback address/);

    // Through the worker: the token request and the delivery both go out under the opened account's list.
    const conn = await cc(opened.api_key);
    assert.equal(conn.status, 201, JSON.stringify(conn.body));
    await destinationFor(stack, opened.api_key, `${receiver.url}/m2m`, conn.body.id);
    const [id] = await postEvent(stack, opened.api_key, 'acc-m2m');
    const state = await settled(stack, opened.api_key, id!);
    assert.equal(state.status, 'delivered', JSON.stringify(state.attempts));
    assert.ok(receiver.requests.some((r) => r.url === '/m2m' && /^Bearer /.test(String(r.headers.authorization))));
  });

  test('a token URL stored for an account without the list is refused when the worker connects', async () => {
    const acc = await stack.createAccount();
    const conn = await stack.core.store.connections.create(acc.id, {
      name: 'legacy',
      spec: {
        kind: 'oauth2_client_credentials',
        settings: { token_url: oauth.tokenUrl.replace('127.0.0.1', 'localhost'), client_id: oauth.clients.basic.id, scope: null, audience: null, auth_method: 'client_secret_basic' },
        secrets: { client_secret: oauth.clients.basic.secret },
      },
      status: 'connected',
    });
    // The destination itself is public-looking and never reached: the token request fails first.
    await stack.core.store.destinations.create(acc.id, { url: 'https://crm.example.invalid/hook', event_types: ['call_completed'], connection_id: conn.id });
    const before = oauth.tokenRequests.length;
    const [id] = await postEvent(stack, acc.api_key, 'acc-legacy-token');
    const state = await settled(stack, acc.api_key, id!);
    assert.equal(state.status, 'failed');
    assert.equal(state.attempts[0]!.error?.code, 'address_refused');
    assert.match(state.attempts[0]!.error!.message, /localhost resolves to 127\.0\.0\.1 is a loopback address/);
    assert.equal(oauth.tokenRequests.length, before, 'no token request reached the server');
  });
});
