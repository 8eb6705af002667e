import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startApi, type TestApi } from '../support/api.ts';
import { createConnection, createDestination } from '../support/resources.ts';

const PROVIDER_SECRET = `prov_${randomBytes(12).toString('hex')}`;
const providers = {
  crm: {
    authorize_url: 'https://login.crm.example/oauth2/authorize',
    token_url: 'https://login.crm.example/oauth2/token',
    client_id: 'voiceoi-app',
    client_secret: PROVIDER_SECRET,
    scopes: ['api', 'refresh_token'],
  },
};

describe('connections API', () => {
  let app: TestApi;
  let a: string;
  let b: string;
  before(async () => {
    app = await startApi({ VOICEOI_OAUTH2_PROVIDERS: JSON.stringify(providers) });
    a = (await app.createAccount('A')).api_key;
    b = (await app.createAccount('B')).api_key;
  });
  after(() => app.stop());

  const create = (token: string, body: unknown) => app.call('POST', '/v1/connections', { token, body });

  test('every kind is created with metadata and a status; secrets are write-only, even in the 201', async () => {
    const secrets = [`hv_${randomBytes(8).toString('hex')}`, `pw_${randomBytes(8).toString('hex')}`, `cs_${randomBytes(8).toString('hex')}`];
    const bodies = [
      { kind: 'headers', name: 'CRM key', headers: { 'X-Api-Key': secrets[0], Authorization: `Token ${secrets[0]}` } },
      { kind: 'basic', name: 'Dialer', username: 'voiceoi', password: secrets[1] },
      { kind: 'oauth2_client_credentials', name: 'CRM m2m', token_url: 'https://idp.example/oauth/token', client_id: 'm2m', client_secret: secrets[2], scope: 'crm.write', audience: 'https://crm.example/api', auth_method: 'client_secret_post' },
      { kind: 'oauth2_authorization_code', name: 'CRM user', provider: 'crm' },
    ];
    const ids: string[] = [];
    const created: { id: string; created_at: string }[] = [];
    for (const body of bodies) {
      const r = await create(a, body);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.kind, body.kind);
      assert.match(r.body.id, /^con_/);
      ids.push(r.body.id);
      created.push(r.body);
      for (const s of [...secrets, PROVIDER_SECRET]) assert.ok(!JSON.stringify(r.body).includes(s), `${body.kind} create response leaks a secret`);
    }
    const [h, basic, cc, ac] = await Promise.all(ids.map((id) => app.call('GET', `/v1/connections/${id}`, { token: a })));
    assert.deepEqual(h!.body.header_names, ['X-Api-Key', 'Authorization']);
    assert.equal(h!.body.status, 'connected');
    assert.equal(basic!.body.username, 'voiceoi');
    assert.equal(basic!.body.password, undefined);
    assert.deepEqual(
      { token_url: cc!.body.token_url, client_id: cc!.body.client_id, scope: cc!.body.scope, audience: cc!.body.audience, auth_method: cc!.body.auth_method },
      { token_url: 'https://idp.example/oauth/token', client_id: 'm2m', scope: 'crm.write', audience: 'https://crm.example/api', auth_method: 'client_secret_post' },
    );
    assert.equal(cc!.body.client_secret, undefined);
    assert.equal(ac!.body.status, 'needs_reauth');
    assert.equal(ac!.body.authorized_at, null);
    assert.equal(ac!.body.authorize_path, `/v1/connections/${ids[3]}/oauth2/start`);
    const list = await app.call('GET', '/v1/connections', { token: a });
    // Oldest first; two created in the same millisecond come in id order.
    const oldestFirst = [...created].sort((x, y) => (x.created_at !== y.created_at ? (x.created_at < y.created_at ? -1 : 1) : x.id < y.id ? -1 : 1));
    assert.deepEqual(list.body.items.map((c: { id: string }) => c.id), oldestFirst.map((c) => c.id));
    for (const s of [...secrets, PROVIDER_SECRET]) assert.ok(!JSON.stringify(list.body).includes(s));
  });

  test('PATCH keeps unsent secrets, replaces sent ones, and never returns them', async () => {
    const r = await create(a, { kind: 'oauth2_client_credentials', name: 'm2m', token_url: 'https://idp.example/token', client_id: 'one', client_secret: 'first-secret-value' });
    const id = r.body.id;
    const renamed = await app.call('PATCH', `/v1/connections/${id}`, { token: a, body: { name: 'renamed', scope: 'a b' } });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    assert.equal(renamed.body.name, 'renamed');
    assert.equal(renamed.body.scope, 'a b');
    let rec = await app.core.store.connections.load(id);
    assert.deepEqual(rec?.secrets, { client_secret: 'first-secret-value' });
    const rotated = await app.call('PATCH', `/v1/connections/${id}`, { token: a, body: { client_secret: 'second-secret-value', scope: null } });
    assert.equal(rotated.status, 200);
    assert.equal(rotated.body.scope, null);
    assert.ok(!JSON.stringify(rotated.body).includes('second-secret-value'));
    rec = await app.core.store.connections.load(id);
    assert.deepEqual(rec?.secrets, { client_secret: 'second-secret-value' });

    const headers = await create(a, { kind: 'headers', name: 'h', headers: { 'X-One': 'v1', 'X-Two': 'v2' } });
    const replaced = await app.call('PATCH', `/v1/connections/${headers.body.id}`, { token: a, body: { headers: { 'X-Three': 'v3' } } });
    assert.deepEqual(replaced.body.header_names, ['X-Three']);
    assert.deepEqual((await app.core.store.connections.load(headers.body.id))?.secrets, { headers: { 'X-Three': 'v3' } });

    const kind = await app.call('PATCH', `/v1/connections/${id}`, { token: a, body: { kind: 'basic' } });
    assert.equal(kind.status, 400);
    assert.equal(kind.body.code, 'connection_kind_immutable');
    const wrongField = await app.call('PATCH', `/v1/connections/${id}`, { token: a, body: { password: 'x' } });
    assert.equal(wrongField.status, 400);
    assert.equal(wrongField.body.code, 'validation_error');
    assert.match(wrongField.body.message, /password/);
  });

  test('bad input: unknown kind, missing fields, bad header names or values, unknown provider', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ kind: 'api_key', name: 'x', key: 'k' }, 'validation_error', /kind/],
      [{ name: 'x', headers: { A: 'b' } }, 'validation_error', /kind/],
      [{ kind: 'basic', name: 'x', username: 'u' }, 'validation_error', /password/],
      [{ kind: 'basic', name: 'x', username: 'a:b', password: 'p' }, 'validation_error', /username/],
      [{ kind: 'oauth2_client_credentials', name: 'x', client_id: 'c', client_secret: 's' }, 'validation_error', /token_url/],
      [{ kind: 'oauth2_client_credentials', name: 'x', token_url: 'ftp://idp/token', client_id: 'c', client_secret: 's' }, 'validation_error', /token_url/],
      [{ kind: 'oauth2_client_credentials', name: 'x', token_url: 'https://idp/token', client_id: 'c', client_secret: 's', auth_method: 'private_key_jwt' }, 'validation_error', /auth_method/],
      [{ kind: 'headers', name: 'x', headers: {} }, 'validation_error', /headers/],
      [{ kind: 'headers', name: 'x', headers: { 'Bad Name': 'v' } }, 'validation_error', /headers/],
      [{ kind: 'headers', name: 'x', headers: { 'X-Key': 'v\r\nX-Injected: 1' } }, 'validation_error', /control characters/],
      [{ kind: 'headers', name: 'x', headers: { 'webhook-signature': 'v1,forged' } }, 'validation_error', /set by VoiceOI/],
      [{ kind: 'headers', name: 'x', headers: { 'X-VoiceOI-Event': 'x' } }, 'validation_error', /set by VoiceOI/],
      [{ kind: 'headers', name: 'x', headers: { 'X-Key': 'a', 'x-key': 'b' } }, 'validation_error', /twice/],
      [{ kind: 'headers', name: 'x', headers: { 'X-Key': 'v' }, client_secret: 'stray' }, 'validation_error', /client_secret/],
      [{ kind: 'oauth2_authorization_code', name: 'x', provider: 'salesforce' }, 'oauth2_provider_unknown', /configured: crm/],
    ];
    for (const [body, code, message] of cases) {
      const r = await create(a, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.code, code, JSON.stringify(r.body));
      assert.match(r.body.message, message, JSON.stringify(r.body));
    }
    // Rejected values are never echoed back.
    const r = await create(a, { kind: 'headers', name: 'x', headers: { 'X-Key': 'secret-with\nnewline' } });
    assert.ok(!JSON.stringify(r.body).includes('secret-with'));
  });

  test('another account’s connection is not found, for every verb, and cannot be used by a destination', async () => {
    const { id } = await createConnection(app, a, { kind: 'basic', name: 'mine', username: 'u', password: 'p' });
    for (const [method, path, body] of [
      ['GET', `/v1/connections/${id}`],
      ['PATCH', `/v1/connections/${id}`, { name: 'theirs' }],
      ['DELETE', `/v1/connections/${id}`],
      ['GET', `/v1/connections/${id}/oauth2/start`],
    ] as const) {
      const r = await app.call(method, path, { token: b, body });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body.code, 'connection_not_found');
    }
    assert.ok(!(await app.call('GET', '/v1/connections', { token: b })).body.items.some((x: { id: string }) => x.id === id));

    const theirs = await app.call('POST', '/v1/destinations', { token: b, body: { url: 'http://127.0.0.1:9/x', event_types: ['*'], connection_id: id } });
    assert.equal(theirs.status, 404);
    assert.equal(theirs.body.code, 'connection_not_found');
    assert.match(theirs.body.message, /connection_id/);
    const unknown = await app.call('POST', '/v1/destinations', { token: a, body: { url: 'http://127.0.0.1:9/x', event_types: ['*'], connection_id: 'con_nope' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'connection_not_found');
    const ok = await app.call('POST', '/v1/destinations', { token: a, body: { url: 'http://127.0.0.1:9/x', event_types: ['*'], connection_id: id } });
    assert.equal(ok.status, 201);
    const dest = (await createDestination(app, b, { url: 'http://127.0.0.1:9/x', event_types: ['*'] })).id;
    const patched = await app.call('PATCH', `/v1/destinations/${dest}`, { token: b, body: { connection_id: id } });
    assert.equal(patched.status, 404);
    assert.equal(patched.body.code, 'connection_not_found');
  });

  test('a connection in use cannot be deleted; an unused one can', async () => {
    const c = await createConnection(app, a, { kind: 'headers', name: 'in use', headers: { 'X-Key': 'v' } });
    const d = await createDestination(app, a, { url: 'http://127.0.0.1:9/x', event_types: ['*'], connection_id: c.id });
    const refused = await app.call('DELETE', `/v1/connections/${c.id}`, { token: a });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'connection_in_use');
    assert.deepEqual(refused.body.destination_ids, [d.id]);
    await app.call('PATCH', `/v1/destinations/${d.id}`, { token: a, body: { connection_id: null } });
    assert.equal((await app.call('DELETE', `/v1/connections/${c.id}`, { token: a })).status, 204);
    assert.equal((await app.call('GET', `/v1/connections/${c.id}`, { token: a })).status, 404);
  });

  test('oauth2/start: PKCE S256 and a state bound to the connection; refused for other kinds', async () => {
    const c = await create(a, { kind: 'oauth2_authorization_code', name: 'CRM', provider: 'crm', scope: 'api' });
    const r = await app.call('GET', `/v1/connections/${c.body.id}/oauth2/start`, { token: a });
    assert.equal(r.status, 302);
    const loc = new URL(r.headers.get('location')!);
    assert.equal(`${loc.origin}${loc.pathname}`, providers.crm.authorize_url);
    const q = Object.fromEntries(loc.searchParams);
    assert.equal(q.response_type, 'code');
    assert.equal(q.client_id, 'voiceoi-app');
    assert.equal(q.scope, 'api', 'the connection’s scope wins over the provider default');
    assert.equal(q.code_challenge_method, 'S256');
    assert.match(q.code_challenge!, /^[A-Za-z0-9_-]{43}$/);
    assert.match(q.state!, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(q.redirect_uri, `${app.url}/v1/oauth2/callback`);
    assert.ok(!loc.toString().includes(PROVIDER_SECRET));
    const cookie = r.headers.getSetCookie().find((s) => s.startsWith('voiceoi_oauth2_'));
    assert.ok(cookie, 'the verifier cookie binds the flow to this browser');
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /Path=\/v1\/oauth2\/callback/);

    const json = await app.call('GET', `/v1/connections/${c.body.id}/oauth2/start`, { token: a, headers: { accept: 'application/json' } });
    assert.equal(json.status, 200);
    assert.notEqual(new URL(json.body.authorize_url).searchParams.get('state'), q.state, 'every start gets its own state');

    const basic = await create(a, { kind: 'basic', name: 'b', username: 'u', password: 'p' });
    const refused = await app.call('GET', `/v1/connections/${basic.body.id}/oauth2/start`, { token: a });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'connection_not_authorization_code');
    const anonymous = await app.call('GET', `/v1/connections/${c.body.id}/oauth2/start`);
    assert.equal(anonymous.status, 401);
  });

  test('the OpenAPI document describes the connection routes', async () => {
    const doc = await app.call('GET', '/openapi.json');
    assert.equal(doc.status, 200);
    for (const path of ['/v1/connections', '/v1/connections/{id}', '/v1/connections/{id}/oauth2/start', '/v1/oauth2/callback']) assert.ok(doc.body.paths[path], path);
    const kinds = JSON.stringify(doc.body.paths['/v1/connections'].post.requestBody);
    for (const kind of ['headers', 'basic', 'oauth2_client_credentials', 'oauth2_authorization_code']) assert.ok(kinds.includes(kind), kind);
  });

  test('the callback refuses a missing or unknown state', async () => {
    const missing = await app.call('GET', '/v1/oauth2/callback?code=abc');
    assert.equal(missing.status, 400);
    assert.equal(missing.body.code, 'oauth2_state_missing');
    const unknown = await app.call('GET', '/v1/oauth2/callback?code=abc&state=forged');
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.code, 'oauth2_state_invalid');
  });
});
