import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { bearerOf, startReceiver, type Receiver } from '../support/receiver.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';
import { startOAuthServer, type OAuthServer } from './support/oauth-server.ts';
import { destinationFor, postEvent } from './support/flows.ts';

describe('oauth2_client_credentials connections (real OAuth2 server on loopback)', () => {
  let stack: Stack;
  let oauth: OAuthServer;
  let receiver: Receiver;
  before(async () => {
    oauth = await startOAuthServer();
    stack = await startStack();
    receiver = await startReceiver();
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
    await oauth.close();
  });

  // Each test has its own account, so its events reach only its own destinations.
  const newAccount = async () => (await stack.createAccount()).api_key;
  const connection = async (token: string, body: Record<string, unknown>) => {
    const r = await stack.call('POST', '/v1/connections', {
      token,
      body: { kind: 'oauth2_client_credentials', name: 'CRM m2m', token_url: oauth.tokenUrl, ...body },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };
  const requestsOf = (clientId: string) => oauth.tokenRequests.filter((r) => r.client_id === clientId);

  test('50 concurrent deliveries get a valid bearer token from a single token request, reused afterwards', async () => {
    const token = await newAccount();
    const id = await connection(token, { client_id: oauth.clients.basic.id, client_secret: oauth.clients.basic.secret, scope: 'crm.write', audience: 'https://crm.example/api' });
    await destinationFor(stack, token, `${receiver.url}/m2m`, id);
    const ids = (await Promise.all(Array.from({ length: 50 }, (_, i) => postEvent(stack, token, `cc-burst-${i}`)))).flat();
    assert.equal(ids.length, 50);
    const got = (await receiver.waitFor(50, 30_000)).filter((r) => r.url === '/m2m');
    assert.equal(got.length, 50);
    const tokens = new Set(got.map((r) => bearerOf(r.headers)));
    assert.equal(tokens.size, 1, 'every delivery carried the same token');
    const [accessToken] = [...tokens];
    const introspected = await oauth.introspect(accessToken!);
    assert.equal(introspected.active, true);
    assert.equal(introspected.client_id, oauth.clients.basic.id);

    const grants = requestsOf(oauth.clients.basic.id);
    assert.equal(grants.length, 1, 'one token request for 50 concurrent deliveries');
    assert.deepEqual(grants[0], { status: 200, grant_type: 'client_credentials', client_id: oauth.clients.basic.id, audience: 'https://crm.example/api', scope: 'crm.write', auth: 'basic' });

    // Later deliveries reuse the cached token.
    const [later] = await postEvent(stack, token, 'cc-later');
    assert.equal((await settled(stack, token, later!)).status, 'delivered');
    assert.equal(bearerOf(receiver.requests.at(-1)!.headers), accessToken);
    assert.equal(requestsOf(oauth.clients.basic.id).length, 1);

    // The recorded attempt shows the header, not the token.
    const d = await settled(stack, token, ids[0]!);
    assert.equal(d.status, 'delivered');
    assert.equal(d.attempts[0]!.request!.headers.authorization, '[redacted]');
    assert.equal((await stack.call('GET', `/v1/connections/${id}`, { token })).body.status, 'connected');
  });

  test('a token nearing expiry is replaced; client_secret_post sends the secret in the body', async () => {
    const token = await newAccount();
    oauth.ttl.clientCredentials = 6; // used for ~4.8 s: the last 20% of its life is the refresh margin
    try {
      const id = await connection(token, { client_id: oauth.clients.post.id, client_secret: oauth.clients.post.secret, auth_method: 'client_secret_post' });
      const dest = await destinationFor(stack, token, `${receiver.url}/expiring`, id);
      assert.ok(dest);
      const seen = () => receiver.requests.filter((r) => r.url === '/expiring').map((r) => bearerOf(r.headers));
      const [first] = await postEvent(stack, token, 'exp-1');
      assert.equal((await settled(stack, token, first!)).status, 'delivered');
      const issuedAt = Date.now();
      const [second] = await postEvent(stack, token, 'exp-2');
      assert.equal((await settled(stack, token, second!)).status, 'delivered');
      assert.equal(seen()[1], seen()[0], 'reused while fresh');
      assert.equal(requestsOf(oauth.clients.post.id).length, 1);

      await new Promise((r) => setTimeout(r, Math.max(0, issuedAt + 5_000 - Date.now())));
      const [third] = await postEvent(stack, token, 'exp-3');
      assert.equal((await settled(stack, token, third!)).status, 'delivered');
      assert.notEqual(seen()[2], seen()[0], 'a new token once the old one nears expiry');
      assert.equal((await oauth.introspect(seen()[2]!)).active, true);
      const reqs = requestsOf(oauth.clients.post.id);
      assert.equal(reqs.length, 2);
      assert.ok(reqs.every((r) => r.auth === 'post' && r.status === 200));
    } finally {
      oauth.ttl.clientCredentials = 3600;
    }
  });

  test('a 401 from the destination fetches a new token and retries once, within the same attempt', async () => {
    const token = await newAccount();
    const id = await connection(token, { client_id: oauth.clients.basic.id, client_secret: oauth.clients.basic.secret });
    let rejected: string | undefined;
    const picky = await startReceiver((req) => {
      // The CRM revoked the first token it saw.
      const t = bearerOf(req.headers);
      rejected ??= t;
      return { status: t === rejected ? 401 : 200 };
    });
    const stubborn = await startReceiver(() => ({ status: 401 }));
    try {
      const before = requestsOf(oauth.clients.basic.id).length;
      await destinationFor(stack, token, picky.url, id);
      const [d1] = await postEvent(stack, token, 'e401-once');
      const delivered = await settled(stack, token, d1!);
      assert.equal(delivered.status, 'delivered');
      assert.equal(delivered.attempts.length, 1);
      assert.equal(picky.requests.length, 2);
      assert.notEqual(bearerOf(picky.requests[1]!.headers), bearerOf(picky.requests[0]!.headers));
      assert.equal(requestsOf(oauth.clients.basic.id).length, before + 2, 'one token for the first try, one after the 401');

      const other = await newAccount();
      await destinationFor(stack, other, stubborn.url, await connection(other, { client_id: oauth.clients.basic.id, client_secret: oauth.clients.basic.secret }), [0, 1]);
      const [d2] = await postEvent(stack, other, 'e401-always');
      const failed = await settled(stack, other, d2!);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.attempts.length, 1, '401 is not retried by the schedule');
      assert.equal(stubborn.requests.length, 2, 'one refresh-and-retry, not a loop');
    } finally {
      await picky.close();
      await stubborn.close();
    }
  });

  test('token endpoint down, answering 500, or refusing the client: clear errors, retried only when it can help', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/token`;
    await new Promise<void>((r) => dead.close(() => r()));
    const broken = createServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('upstream exploded');
    });
    await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
    const brokenUrl = `http://127.0.0.1:${(broken.address() as AddressInfo).port}/token`;
    const sink = await startReceiver();
    try {
      const cases = [
        { name: 'down', token_url: deadUrl, client_secret: 'whatever-secret', code: 'oauth2_token_endpoint_unreachable', attempts: 2 },
        { name: '500', token_url: brokenUrl, client_secret: 'whatever-secret', code: 'oauth2_token_endpoint_error', attempts: 2 },
        { name: '401', token_url: oauth.tokenUrl, client_secret: 'wrong-client-secret', code: 'oauth2_invalid_client', attempts: 1 },
      ];
      for (const c of cases) {
        const token = await newAccount();
        const id = await connection(token, { client_id: oauth.clients.basic.id, client_secret: c.client_secret, token_url: c.token_url });
        await destinationFor(stack, token, `${sink.url}/${c.name}`, id, [0, 1]);
        const [d] = await postEvent(stack, token, `tokfail-${c.name}`);
        const res = await settled(stack, token, d!);
        assert.equal(res.status, 'failed', c.name);
        assert.equal(res.attempts.length, c.attempts, `${c.name}: retried only when retrying can help`);
        for (const a of res.attempts) assert.equal(a.error?.code, c.code, `${c.name}: ${JSON.stringify(a.error)}`);
        assert.ok(!JSON.stringify(res).includes(c.client_secret));
        const conn = (await stack.call('GET', `/v1/connections/${id}`, { token })).body;
        assert.equal(conn.status, 'error', c.name);
        assert.equal(conn.last_error.code, c.code);
        assert.ok(conn.last_error.message.includes(c.token_url), conn.last_error.message);
        if (c.name === '500') assert.match(conn.last_error.message, /HTTP 500/);

        if (c.name === '401') {
          // Fixing the secret makes the connection usable again.
          const fixed = await stack.call('PATCH', `/v1/connections/${id}`, { token, body: { client_secret: oauth.clients.basic.secret } });
          assert.equal(fixed.body.status, 'connected');
          assert.equal(fixed.body.last_error, null);
          const [again] = await postEvent(stack, token, 'tokfail-401-fixed');
          assert.equal((await settled(stack, token, again!)).status, 'delivered');
        }
      }
      assert.equal(sink.requests.filter((r) => r.url !== '/401').length, 0, 'nothing is sent without credentials');
    } finally {
      await new Promise<void>((r) => broken.close(() => r()));
      await sink.close();
    }
  });

  test('a token URL on a link-local (metadata) address is refused, at creation and at connect time', async () => {
    const token = await newAccount();
    const metadata = 'http://169.254.169.254/latest/token';
    const refused = await stack.call('POST', '/v1/connections', { token, body: { kind: 'oauth2_client_credentials', name: 'x', token_url: metadata, client_id: 'x', client_secret: 'y' } });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, 'token_url_address_refused');
    // One stored before such a rule existed is still never contacted.
    const account = (await stack.core.store.accounts.findByApiKey(token))!;
    const stored = await stack.core.store.connections.create(account.id, {
      name: 'legacy',
      spec: { kind: 'oauth2_client_credentials', settings: { token_url: metadata, client_id: 'x', scope: null, audience: null, auth_method: 'client_secret_basic' }, secrets: { client_secret: 'metadata-probe-secret' } },
      status: 'connected',
    });
    const sink = await startReceiver();
    try {
      await destinationFor(stack, token, sink.url, stored.id, [0, 1]);
      const [d] = await postEvent(stack, token, 'tok-metadata');
      const res = await settled(stack, token, d!);
      assert.equal(res.status, 'failed');
      assert.equal(res.attempts.length, 1);
      assert.equal(res.attempts[0]!.error?.code, 'address_refused');
      assert.equal(sink.requests.length, 0);
    } finally {
      await sink.close();
    }
  });
});
