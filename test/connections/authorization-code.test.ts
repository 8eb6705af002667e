import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bearerOf, startReceiver, type Receiver } from '../support/receiver.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';
import { Browser } from './support/browser.ts';
import { connectInBrowser, destinationFor, postEvent, providersEnv } from './support/flows.ts';
import { startOAuthServer, type OAuthServer } from './support/oauth-server.ts';

describe('oauth2_authorization_code connections (real OAuth2 server, driven over HTTP)', () => {
  let stack: Stack;
  let oauth: OAuthServer;
  let receiver: Receiver;
  before(async () => {
    oauth = await startOAuthServer();
    stack = await startStack({ VOICEOI_OAUTH2_PROVIDERS: providersEnv(oauth) });
    receiver = await startReceiver();
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
    await oauth.close();
  });

  // Each test has its own account, so its events reach only its own destinations.
  const setup = async (path: string | null) => {
    const token = (await stack.createAccount()).api_key;
    const c = await stack.call('POST', '/v1/connections', { token, body: { kind: 'oauth2_authorization_code', name: 'CRM (user)', provider: 'crm' } });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    if (path) await destinationFor(stack, token, `${receiver.url}${path}`, c.body.id, [0, 1]);
    return { token, id: c.body.id as string };
  };
  const tokensAt = (path: string) => receiver.requests.filter((r) => r.url === path).map((r) => bearerOf(r.headers));
  const connection = async (token: string, id: string) => (await stack.call('GET', `/v1/connections/${id}`, { token })).body;

  test('start → login and consent at the provider → callback → deliveries carry the user’s token, refreshed after expiry', async () => {
    const { token, id } = await setup('/ac');
    // Not authorized yet: the delivery fails at once with the reason, without calling the receiver.
    const [early] = await postEvent(stack, token, 'ac-early');
    const refused = await settled(stack, token, early!);
    assert.equal(refused.status, 'failed');
    assert.equal(refused.attempts.length, 1);
    assert.equal(refused.attempts[0]!.error?.code, 'connection_needs_reauth');
    assert.match(refused.attempts[0]!.error!.message, /oauth2\/start/);
    assert.equal(tokensAt('/ac').length, 0);

    oauth.ttl.accessToken = 6; // used as is for 4.8 s, then refreshed
    let cb;
    try {
      cb = await connectInBrowser(stack, new Browser(), token, id, 'alice');
    } finally {
      oauth.ttl.accessToken = 3600;
    }
    assert.equal(cb.status, 200, JSON.stringify(cb.body));
    assert.deepEqual([cb.body.connection_id, cb.body.status], [id, 'connected']);
    assert.equal(JSON.stringify(cb.body).includes('token'), false, 'the callback answers without tokens');
    const conn = await connection(token, id);
    assert.equal(conn.status, 'connected');
    assert.ok(conn.authorized_at);
    assert.ok(conn.token_expires_at);
    const exchange = oauth.tokenRequests.at(-1)!;
    assert.deepEqual([exchange.grant_type, exchange.client_id, exchange.status, exchange.auth], ['authorization_code', oauth.clients.app.id, 200, 'basic']);

    const [d1] = await postEvent(stack, token, 'ac-1');
    assert.equal((await settled(stack, token, d1!)).status, 'delivered');
    const first = tokensAt('/ac')[0]!;
    const info = await oauth.introspect(first);
    assert.equal(info.active, true);
    assert.equal(info.sub, 'alice', 'the token is the user’s');
    assert.equal(info.client_id, oauth.clients.app.id);

    // Once it nears expiry, the next delivery refreshes it first.
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(conn.token_expires_at) - Date.now())));
    const refreshesBefore = oauth.grants().filter((g) => g.grant_type === 'refresh_token').length;
    const [d2] = await postEvent(stack, token, 'ac-2');
    assert.equal((await settled(stack, token, d2!)).status, 'delivered');
    const second = tokensAt('/ac')[1]!;
    assert.notEqual(second, first);
    const info2 = await oauth.introspect(second);
    assert.equal(info2.active, true);
    assert.equal(info2.sub, 'alice');
    assert.equal(oauth.grants().filter((g) => g.grant_type === 'refresh_token').length, refreshesBefore + 1);
    assert.notEqual((await connection(token, id)).token_expires_at, conn.token_expires_at, 'the refreshed tokens are stored');
  });

  test('a replayed state, an expired state, or a callback from another browser is refused', async () => {
    const { token, id } = await setup('/states');
    const browser = new Browser();
    const done = await connectInBrowser(stack, browser, token, id, 'bob');
    assert.equal(done.status, 200);
    const authorizedAt = (await connection(token, id)).authorized_at;

    // Replay: the same callback again, even with the verifier cookie put back, is refused.
    const cookieJar = browser.cookies(stack.url);
    const res = await fetch(done.callbackUrl, { headers: { cookie: [...cookieJar].map(([k, v]) => `${k}=${v}`).join('; ') } });
    const replay = (await res.json()) as { code: string };
    assert.equal(res.status, 400);
    assert.equal(replay.code, 'oauth2_state_invalid');

    // Expired: the user took too long at the provider.
    const slow = new Browser();
    const start = await slow.request(`${stack.url}/v1/connections/${id}/oauth2/start`, { headers: { authorization: `Bearer ${token}` } });
    await stack.core.store.db.updateTable('oauth2_authorizations').set({ expires_at: new Date(Date.now() - 1000).toISOString() }).execute();
    const late = await slow.request(await slow.authorize(start.headers.get('location')!, 'bob', `${stack.url}/v1/oauth2/callback`));
    assert.equal(late.status, 400);
    assert.equal(((await late.json()) as { code: string }).code, 'oauth2_state_expired');

    // Another browser: an authorize link forwarded to someone else cannot bind their account here.
    const attacker = new Browser();
    const attackerStart = await attacker.request(`${stack.url}/v1/connections/${id}/oauth2/start`, { headers: { authorization: `Bearer ${token}` } });
    const victim = new Browser();
    const stolen = await victim.request(await victim.authorize(attackerStart.headers.get('location')!, 'victim', `${stack.url}/v1/oauth2/callback`));
    assert.equal(stolen.status, 400);
    assert.equal(((await stolen.json()) as { code: string }).code, 'oauth2_browser_mismatch');

    assert.equal((await connection(token, id)).authorized_at, authorizedAt, 'no refused callback changed the connection');
    const [d] = await postEvent(stack, token, 'states-1');
    assert.equal((await settled(stack, token, d!)).status, 'delivered');
    assert.equal((await oauth.introspect(tokensAt('/states')[0]!)).sub, 'bob');
  });

  test('a callback from a client without the browser cookie is refused without using up the state: the rightful browser still completes', async () => {
    const { token, id } = await setup('/not-burnt');
    const browser = new Browser();
    const start = await browser.request(`${stack.url}/v1/connections/${id}/oauth2/start`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(start.status, 302);
    const callbackUrl = await browser.authorize(start.headers.get('location')!, 'erin', `${stack.url}/v1/oauth2/callback`);

    // Someone who saw the callback URL (a log, a shared screen) gets there first, without the cookie.
    const other = await fetch(callbackUrl);
    assert.equal(other.status, 400);
    assert.equal(((await other.json()) as { code: string }).code, 'oauth2_browser_mismatch');
    assert.equal((await connection(token, id)).status, 'needs_reauth', 'the refused callback connected nothing');

    const res = await browser.request(callbackUrl);
    const body = (await res.json()) as { status: string; connection_id: string };
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual([body.connection_id, body.status], [id, 'connected']);
    const [d] = await postEvent(stack, token, 'not-burnt-1');
    assert.equal((await settled(stack, token, d!)).status, 'delivered');
    assert.equal((await oauth.introspect(tokensAt('/not-burnt')[0]!)).sub, 'erin');
  });

  test('X-Forwarded-Host and -Proto choose the redirect_uri only when the client is a trusted proxy (VOICEOI_TRUSTED_PROXIES)', async () => {
    const forwarded = { 'x-forwarded-host': 'hooks.example.com', 'x-forwarded-proto': 'https' };
    const redirectUriOf = async (s: Stack) => {
      const token = (await s.createAccount()).api_key;
      const c = await s.call('POST', '/v1/connections', { token, body: { kind: 'oauth2_authorization_code', name: 'CRM', provider: 'crm' } });
      const r = await s.call('GET', `/v1/connections/${c.body.id}/oauth2/start`, { token, headers: { accept: 'application/json', ...forwarded } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return new URL(r.body.authorize_url).searchParams.get('redirect_uri');
    };
    // By default no proxy is trusted: the headers of a direct client are ignored.
    assert.equal(await redirectUriOf(stack), `${stack.url}/v1/oauth2/callback`);
    const behindProxy = await startStack({ VOICEOI_OAUTH2_PROVIDERS: providersEnv(oauth), VOICEOI_TRUSTED_PROXIES: '127.0.0.1' }, { worker: false });
    try {
      assert.equal(await redirectUriOf(behindProxy), 'https://hooks.example.com/v1/oauth2/callback');
    } finally {
      await behindProxy.stop();
    }
  });

  test('a 401 from the destination refreshes the user’s token and retries once', async () => {
    let rejected: string | undefined;
    const picky = await startReceiver((req) => {
      const t = bearerOf(req.headers);
      rejected ??= t; // the CRM revoked the first token it saw
      return { status: t === rejected ? 401 : 200 };
    });
    try {
      const { token, id } = await setup(null);
      await destinationFor(stack, token, picky.url, id);
      assert.equal((await connectInBrowser(stack, new Browser(), token, id, 'dave')).status, 200);
      const refreshes = () => oauth.grants().filter((g) => g.grant_type === 'refresh_token').length;
      const before = refreshes();
      const [d] = await postEvent(stack, token, 'ac-401');
      const delivery = await settled(stack, token, d!);
      assert.equal(delivery.status, 'delivered');
      assert.equal(delivery.attempts.length, 1);
      assert.equal(picky.requests.length, 2);
      assert.notEqual(bearerOf(picky.requests[1]!.headers), bearerOf(picky.requests[0]!.headers));
      assert.equal((await oauth.introspect(bearerOf(picky.requests[1]!.headers)!)).sub, 'dave');
      assert.equal(refreshes(), before + 1, 'one refresh, with the stored refresh token');
    } finally {
      await picky.close();
    }
  });

  test('invalid_grant marks the connection needs_reauth; its deliveries fail with that reason until re-authorized and recovered', async () => {
    const { token, id } = await setup('/revoked');
    const since = new Date().toISOString();
    oauth.ttl.accessToken = 2;
    try {
      assert.equal((await connectInBrowser(stack, new Browser(), token, id, 'carol')).status, 200);
    } finally {
      oauth.ttl.accessToken = 3600;
    }
    const expiresAt = Date.parse((await connection(token, id)).token_expires_at);
    await oauth.revokeRefreshTokens(); // e.g. the user removed the app at the provider
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now())));

    const [d] = await postEvent(stack, token, 'revoked-1');
    const failed = await settled(stack, token, d!);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.attempts.length, 1, 'not retried: only a person can fix it');
    assert.equal(failed.attempts[0]!.error?.code, 'connection_needs_reauth');
    assert.match(failed.attempts[0]!.error!.message, /invalid_grant/);
    const conn = await connection(token, id);
    assert.equal(conn.status, 'needs_reauth');
    assert.equal(conn.last_error.code, 'oauth2_invalid_grant');
    const tokenRequests = oauth.tokenRequests.length;
    const [d2] = await postEvent(stack, token, 'revoked-2');
    assert.equal((await settled(stack, token, d2!)).attempts[0]!.error?.code, 'connection_needs_reauth');
    assert.equal(oauth.tokenRequests.length, tokenRequests, 'a connection known to need re-authorization does not hammer the provider');
    assert.equal(tokensAt('/revoked').length, 0);

    assert.equal((await connectInBrowser(stack, new Browser(), token, id, 'carol')).status, 200);
    assert.equal((await connection(token, id)).status, 'connected');
    const dest = (await stack.call('GET', '/v1/destinations', { token })).body.items[0].id;
    // Recover reads the visibility listing, which lags: it replays what is listed failed, once. It
    // skips runs still open, and a failed delivery's run stays open a moment after it reads failed
    // (it first emits hook.delivery_failed): wait until both are listed closed.
    await eventually(async () => {
      const r = await stack.call('GET', `/v1/deliveries?status=failed&destination_id=${dest}`, { token });
      return r.body.items?.length === 2 && r.body.items.every((i: { closed_at: string | null }) => i.closed_at !== null);
    }, 'both failed deliveries to be listed, closed');
    const recovered = (await stack.call('POST', `/v1/destinations/${dest}/recover`, { token, body: { since } })).body;
    assert.equal(recovered.recovered, 2, JSON.stringify(recovered));
    assert.deepEqual([...recovered.deliveries].sort(), [d, d2].sort());
    const ok = await eventually(async () => {
      const views = await Promise.all([d!, d2!].map((x) => stack.call('GET', `/v1/deliveries/${encodeURIComponent(x)}`, { token })));
      return views.every((v) => v.body.status === 'delivered') ? views : undefined;
    }, 'the recovered deliveries to be delivered');
    assert.equal(ok.length, 2);
    assert.equal(tokensAt('/revoked').length, 2);
    assert.equal((await oauth.introspect(tokensAt('/revoked')[0]!)).sub, 'carol');
  });
});
