import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startApi, type TestApi } from '../support/api.ts';
import { signIn } from '../support/console-session.ts';

const CLIENT_SECRET = `prov_${randomBytes(12).toString('hex')}`;
const CLIENT_ID = `client_${randomBytes(6).toString('hex')}`;
const provider = (extra: Record<string, unknown> = {}) => ({
  authorize_url: 'https://login.crm.example/oauth2/authorize?tenant=t1',
  token_url: 'https://login.crm.example/oauth2/token',
  client_id: CLIENT_ID,
  client_secret: CLIENT_SECRET,
  authorize_params: { access_type: 'offline' },
  ...extra,
});

describe('GET /v1/oauth2/providers: the providers an account can connect with', () => {
  let app: TestApi;
  let key: string;
  before(async () => {
    app = await startApi({
      VOICEOI_OAUTH2_PROVIDERS: JSON.stringify({
        salesforce: provider({ display_name: 'Salesforce', scopes: ['api', 'refresh_token'] }),
        'hub-spot': provider(),
      }),
    });
    key = (await app.createAccount('BPO')).api_key;
  });
  after(() => app.stop());

  test('lists name, display name and default scopes, sorted by name, and nothing of the provider app', async () => {
    const r = await app.call('GET', '/v1/oauth2/providers', { token: key });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, {
      items: [
        { name: 'hub-spot', display_name: null, scopes: [] },
        { name: 'salesforce', display_name: 'Salesforce', scopes: ['api', 'refresh_token'] },
      ],
    });
    const raw = JSON.stringify(r.body);
    for (const hidden of [CLIENT_SECRET, CLIENT_ID, 'login.crm.example', 'access_type']) assert.equal(raw.includes(hidden), false, hidden);
  });

  test('the console reads it with its session cookie', async () => {
    const session = await signIn(app, key);
    const r = await app.call('GET', '/v1/oauth2/providers', { headers: session.cookie });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.items.map((p: { name: string }) => p.name), ['hub-spot', 'salesforce']);
  });

  test('needs an account: no credentials is 401, the admin token 403', async () => {
    const anonymous = await app.call('GET', '/v1/oauth2/providers');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, 'unauthorized');
    const admin = await app.call('GET', '/v1/oauth2/providers', { token: app.adminToken });
    assert.equal(admin.status, 403);
    assert.equal(admin.body.code, 'forbidden');
  });

  test('is described in the OpenAPI document', async () => {
    const doc = (await app.call('GET', '/openapi.json')).body;
    const op = doc.paths['/v1/oauth2/providers']?.get;
    assert.ok(op, 'documented');
    assert.match(op.description, /VOICEOI_OAUTH2_PROVIDERS/);
    const item = op.responses['200'].content['application/json'].schema.properties.items.items;
    assert.deepEqual(Object.keys(item.properties).sort(), ['display_name', 'name', 'scopes']);
  });
});

describe('GET /v1/oauth2/providers with no provider configured', () => {
  let app: TestApi;
  before(async () => {
    app = await startApi();
  });
  after(() => app.stop());

  test('answers an empty list, not an error', async () => {
    const r = await app.call('GET', '/v1/oauth2/providers', { token: (await app.createAccount()).api_key });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { items: [] });
  });
});

describe('VOICEOI_OAUTH2_PROVIDERS display_name', () => {
  test('a blank display name is refused at boot, naming the field', async () => {
    await assert.rejects(
      startApi({ VOICEOI_OAUTH2_PROVIDERS: JSON.stringify({ crm: provider({ display_name: ' ' }) }) }),
      (err: Error) => /display_name/.test(err.message) && !err.message.includes(CLIENT_SECRET),
    );
  });
});
