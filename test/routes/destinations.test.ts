import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApi, type TestApi } from '../support/api.ts';
import { createDestination } from '../support/resources.ts';

describe('destinations API', () => {
  let app: TestApi;
  let a: string;
  let b: string;
  before(async () => {
    app = await startApi();
    a = (await app.createAccount('A')).api_key;
    b = (await app.createAccount('B')).api_key;
  });
  after(() => app.stop());

  test('creates a destination, shows its signing secret once, and never again', async () => {
    const created = await app.call('POST', '/v1/destinations', {
      token: a,
      body: { url: 'http://127.0.0.1:9/hook', event_types: ['call_completed', 'transfer_success'], timeout_ms: 5000, retry_schedule_s: [0, 1, 2] },
    });
    assert.equal(created.status, 201);
    assert.match(created.body.signing_secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(created.body.signing_secret.slice(6), 'base64').length, 32);
    assert.deepEqual(created.body.retry_schedule_s, [0, 1, 2]);
    const got = await app.call('GET', `/v1/destinations/${created.body.id}`, { token: a });
    assert.equal(got.status, 200);
    assert.equal(got.body.signing_secret, undefined);
    assert.ok(!JSON.stringify(got.body).includes(created.body.signing_secret));
    const list = await app.call('GET', '/v1/destinations', { token: a });
    assert.ok(!JSON.stringify(list.body).includes(created.body.signing_secret));
    assert.equal(list.body.items.length, 1);

    const patched = await app.call('PATCH', `/v1/destinations/${created.body.id}`, { token: a, body: { enabled: false } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.enabled, false);
    assert.equal(patched.body.url, 'http://127.0.0.1:9/hook');
  });

  test('another account’s destination is not found (404), for every verb', async () => {
    const { id } = await createDestination(app, a, { url: 'https://crm.internal/hook', event_types: ['*'] });
    for (const [method, path, body] of [
      ['GET', `/v1/destinations/${id}`],
      ['PATCH', `/v1/destinations/${id}`, { enabled: false }],
      ['DELETE', `/v1/destinations/${id}`],
      ['POST', `/v1/destinations/${id}/rotate-secret`, {}],
      ['POST', `/v1/destinations/${id}/pause`],
    ] as const) {
      const r = await app.call(method, path, { token: b, body });
      assert.equal(r.status, 404, `${method} ${path}`);
      assert.equal(r.body.code, 'destination_not_found');
    }
    assert.equal((await app.call('GET', `/v1/destinations/${id}`, { token: a })).status, 200);
    const listB = await app.call('GET', '/v1/destinations', { token: b });
    assert.deepEqual(listB.body.items, []);
  });

  test('refuses a URL that is not http(s), carries credentials, or points at link-local / metadata addresses', async () => {
    for (const url of ['ftp://crm.example/hook', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url']) {
      const r = await app.call('POST', '/v1/destinations', { token: a, body: { url, event_types: ['call_completed'] } });
      assert.equal(r.status, 400, url);
      assert.equal(r.body.code, 'validation_error');
      assert.match(r.body.message, /^url: /);
    }
    const creds = await app.call('POST', '/v1/destinations', { token: a, body: { url: 'https://user:pw@crm.example/hook', event_types: ['call_completed'] } });
    assert.equal(creds.status, 400);
    assert.match(creds.body.message, /credentials/);
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://[fe80::1]/x', 'http://[::ffff:169.254.169.254]/x']) {
      const r = await app.call('POST', '/v1/destinations', { token: a, body: { url, event_types: ['call_completed'] } });
      assert.equal(r.status, 400, url);
      assert.equal(r.body.code, 'destination_address_refused');
    }
  });

  test('refuses unknown event types and out-of-range settings with field paths', async () => {
    const r = await app.call('POST', '/v1/destinations', { token: a, body: { url: 'http://127.0.0.1/x', event_types: ['call_ended'], timeout_ms: 1 } });
    assert.equal(r.status, 400);
    const paths = r.body.issues.map((i: { path: string }) => i.path);
    assert.ok(paths.includes('event_types.0'), JSON.stringify(r.body));
    assert.ok(paths.includes('timeout_ms'), JSON.stringify(r.body));
  });

  test('the admin token cannot act as an account, and an account key cannot create accounts', async () => {
    const r = await app.call('GET', '/v1/destinations', { token: app.adminToken });
    assert.equal(r.status, 403);
    const r2 = await app.call('POST', '/v1/accounts', { token: a, body: { name: 'x' } });
    assert.equal(r2.status, 403);
  });

  test('GET /v1/event-types serves the catalog with a JSON Schema per type, without auth', async () => {
    const r = await app.call('GET', '/v1/event-types');
    assert.equal(r.status, 200);
    const types = r.body.items.map((i: { type: string }) => i.type);
    assert.deepEqual(types.sort(), [
      'call_completed', 'call_disposition_set', 'call_started', 'handover_started', 'live_transfer_initiated',
      'hook.connection_certificate_expiring', 'hook.connection_needs_reauth', 'hook.delivery_failed', 'hook.destination_disabled',
      'qualification_threshold_met', 'transcript_completed', 'transfer_success', 'voice_detected',
    ].sort());
    const cc = r.body.items.find((i: { type: string }) => i.type === 'call_completed');
    assert.ok(cc.schema.properties.data.required.includes('duration_s'));
    // Operational events are about no call: their data needs no call_id.
    const failed = r.body.items.find((i: { type: string }) => i.type === 'hook.delivery_failed');
    assert.deepEqual([...failed.schema.properties.data.required].sort(), ['attempts', 'delivery_id', 'destination_id', 'event_id', 'event_type', 'reason']);
    const openapi = await app.call('GET', '/openapi.json');
    assert.equal(openapi.status, 200);
    assert.ok(openapi.body.paths['/v1/events']);
    const docs = await app.call('GET', '/docs');
    assert.equal(docs.status, 200);
  });
  test('max_in_flight: 20 unless set, set on create and patch, and out of 1..1000 refused with its field', async () => {
    const created = await app.call('POST', '/v1/destinations', { token: a, body: { url: 'http://127.0.0.1:9/hook', event_types: ['call_completed'] } });
    assert.equal(created.status, 201);
    assert.equal(created.body.max_in_flight, 20);
    const set = await app.call('POST', '/v1/destinations', { token: a, body: { url: 'http://127.0.0.1:9/hook', event_types: ['call_completed'], max_in_flight: 3 } });
    assert.equal(set.body.max_in_flight, 3);
    const patched = await app.call('PATCH', `/v1/destinations/${created.body.id}`, { token: a, body: { max_in_flight: 100 } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.max_in_flight, 100);
    assert.equal((await app.call('GET', `/v1/destinations/${created.body.id}`, { token: a })).body.max_in_flight, 100);
    for (const bad of [0, -1, 1001, 2.5, '5', null]) {
      for (const r of [
        await app.call('POST', '/v1/destinations', { token: a, body: { url: 'http://127.0.0.1:9/hook', event_types: ['call_completed'], max_in_flight: bad } }),
        await app.call('PATCH', `/v1/destinations/${created.body.id}`, { token: a, body: { max_in_flight: bad } }),
      ]) {
        assert.equal(r.status, 400, JSON.stringify(bad));
        assert.equal(r.body.code, 'validation_error');
        assert.deepEqual(r.body.issues.map((i: { path: string }) => i.path), ['max_in_flight'], JSON.stringify(r.body));
      }
    }
    assert.equal((await app.call('GET', `/v1/destinations/${created.body.id}`, { token: a })).body.max_in_flight, 100, 'a refused patch changed nothing');
  });
});
