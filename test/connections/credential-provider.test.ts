import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { createConnectionCredentials } from '../../src/connections/credential-provider.ts';
import { createTokenClient } from '../../src/connections/token-client.ts';
import { loadKeyRing } from '../../src/crypto/keyring.ts';
import { createDeliveryAgent, type DeliveryAgent } from '../../src/delivery/http-client.ts';
import { createNetworkPolicy } from '../../src/delivery/network-policy.ts';
import { createStore, type Store } from '../../src/store/index.ts';
import { Browser } from './support/browser.ts';
import { startOAuthServer, type OAuthServer } from './support/oauth-server.ts';

// The worker's CredentialProvider against a real OAuth2 server and a real store, without Temporal:
// concurrency and cache behaviour that end-to-end tests can only observe indirectly.

describe('connection credentials in the worker', () => {
  let dir: string;
  let store: Store;
  let oauth: OAuthServer;
  let agent: DeliveryAgent;
  let accountId: string;
  const policy = createNetworkPolicy({ allowedNetworks: ['127.0.0.0/8'] }); // the OAuth2 server is on loopback
  // Two providers on one database stand for two worker processes.
  const worker = () =>
    createConnectionCredentials({
      connections: store.connections,
      providers: { crm: { authorize_url: oauth.authorizeUrl, token_url: oauth.tokenUrl, client_id: oauth.clients.app.id, client_secret: oauth.clients.app.secret, scopes: [], auth_method: 'client_secret_basic', authorize_params: {} } },
      tokens: createTokenClient({ agent, policy }),
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voiceoi-creds-'));
    store = await createStore({ file: join(dir, 'db.sqlite'), keyRing: loadKeyRing({ masterKeys: `k:${randomBytes(32).toString('base64')}`, dataDir: dir }) });
    oauth = await startOAuthServer();
    agent = createDeliveryAgent(policy);
    accountId = (await store.accounts.create('A')).id;
  });
  after(async () => {
    await agent.close();
    await oauth.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ccConnection = (secret = oauth.clients.basic.secret) =>
    store.connections.create(accountId, {
      name: 'cc',
      spec: { kind: 'oauth2_client_credentials', settings: { token_url: oauth.tokenUrl, client_id: oauth.clients.basic.id, scope: null, audience: null, auth_method: 'client_secret_basic' }, secrets: { client_secret: secret } },
      status: 'connected',
    });
  const grants = (type: string) => oauth.grants().filter((g) => g.grant_type === type).length;

  test('50 concurrent requests for a cold connection make one token request', async () => {
    const c = await ccConnection();
    const creds = worker();
    const before = grants('client_credentials');
    const results = await Promise.all(Array.from({ length: 50 }, () => creds.headersFor(c.id, accountId)));
    assert.equal(grants('client_credentials'), before + 1);
    assert.equal(new Set(results.map((r) => r.headers.authorization)).size, 1);
    assert.ok(results.every((r) => r.oauth2));
    // A changed secret (new revision) is never served from the old cache entry.
    await store.connections.update(accountId, c.id, { spec: { kind: 'oauth2_client_credentials', settings: { token_url: oauth.tokenUrl, client_id: oauth.clients.basic.id, scope: null, audience: null, auth_method: 'client_secret_basic' }, secrets: { client_secret: oauth.clients.basic.secret } } });
    const after = await creds.headersFor(c.id, accountId);
    assert.equal(grants('client_credentials'), before + 2);
    assert.notEqual(after.headers.authorization, results[0]!.headers.authorization);
  });

  test('another account’s connection is refused like a missing one, without retries', async () => {
    const c = await ccConnection();
    const other = (await store.accounts.create('B')).id;
    await assert.rejects(worker().headersFor(c.id, other), (e: { code: string; retryable: boolean }) => e.code === 'connection_not_found' && e.retryable === false);
    await assert.rejects(worker().headersFor('con_missing', accountId), (e: { code: string }) => e.code === 'connection_not_found');
  });

  test('two worker processes forced to refresh at once: one refresh grant, both get the new token', async () => {
    // A real authorization at the provider, exchanged the way the API's callback does it.
    const verifier = oidc.randomPKCECodeVerifier();
    const redirect = 'http://127.0.0.1:9/v1/oauth2/callback';
    const url = new URL(oauth.authorizeUrl);
    url.search = new URLSearchParams({
      client_id: oauth.clients.app.id, response_type: 'code', redirect_uri: redirect, scope: 'openid offline_access', state: 's',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', prompt: 'consent',
    }).toString();
    const code = new URL(await new Browser().authorize(url.toString(), 'erin', redirect)).searchParams.get('code')!;
    const config = new oidc.Configuration({ issuer: oauth.issuer, token_endpoint: oauth.tokenUrl }, oauth.clients.app.id, undefined, oidc.ClientSecretBasic(oauth.clients.app.secret));
    oidc.allowInsecureRequests(config);
    const t = await oidc.genericGrantRequest(config, 'authorization_code', { code, redirect_uri: redirect, code_verifier: verifier });
    const c = await store.connections.create(accountId, { name: 'ac', spec: { kind: 'oauth2_authorization_code', settings: { provider: 'crm', scope: null }, secrets: {} }, status: 'needs_reauth' });
    await store.connections.completeAuthorization(accountId, c.id, { access_token: t.access_token, refresh_token: t.refresh_token!, expires_at: new Date(Date.now() + 3_600_000).toISOString(), issued_at: new Date().toISOString() });

    const [a, b] = [worker(), worker()];
    const fresh = await a.headersFor(c.id, accountId);
    assert.equal(fresh.headers.authorization, `Bearer ${t.access_token}`, 'a fresh stored token is used as is');
    const before = grants('refresh_token');
    // The refresh token rotates on use: two refreshes with it would leave one process with invalid_grant.
    const [ra, rb] = await Promise.all([a.headersFor(c.id, accountId, { forceRefresh: true }), b.headersFor(c.id, accountId, { forceRefresh: true })]);
    assert.equal(grants('refresh_token'), before + 1);
    assert.equal(ra.headers.authorization, rb.headers.authorization);
    assert.notEqual(ra.headers.authorization, `Bearer ${t.access_token}`);
    const info = await oauth.introspect(ra.headers.authorization!.slice('Bearer '.length));
    assert.equal(info.active, true);
    assert.equal(info.sub, 'erin');
    assert.equal((await store.connections.get(accountId, c.id))?.status, 'connected');
  });
});
