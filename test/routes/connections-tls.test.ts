import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApi, type TestApi } from '../support/api.ts';
import { createPrivateCa, type PrivateCa } from '../support/certificates.ts';

describe('a connection\'s TLS: checked at creation, write-only, shown as subjects and expiries', () => {
  let api: TestApi;
  let key: string;
  let other: string;
  let ca: PrivateCa;
  before(async () => {
    api = await startApi();
    key = (await api.createAccount()).api_key;
    other = (await api.createAccount('B')).api_key;
    ca = createPrivateCa('BPO Internal');
  });
  after(() => api.stop());

  const create = (tls: unknown, kind: Record<string, unknown> = { kind: 'basic', username: 'crm', password: 'pw-secret' }) =>
    api.call('POST', '/v1/connections', { token: key, body: { ...kind, name: 'internal CRM', tls } });

  test('the view shows what is set and each certificate\'s subject and expiry, never the PEM; PATCH replaces it and null removes it', async () => {
    const client = ca.issue({ cn: 'voiceoi-hooks', days: 90 });
    const r = await create({ ca_certificates: ca.cert, client_certificate: client.cert, client_key: client.key });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.tls.client_key_set, true);
    assert.match(r.body.tls.client_certificate.subject, /CN=voiceoi-hooks/);
    assert.match(r.body.tls.client_certificate.issuer, /CN=BPO Internal Root CA/);
    assert.ok(Math.abs(Date.parse(r.body.tls.client_certificate.not_after) - (Date.now() + 90 * 86_400_000)) < 86_400_000);
    assert.equal(r.body.tls.ca_certificates.length, 1);
    assert.match(r.body.tls.ca_certificates[0].subject, /CN=BPO Internal Root CA/);
    assert.match(r.body.tls.ca_certificates[0].fingerprint, /^[0-9a-f]{64}$/);

    const got = await api.call('GET', `/v1/connections/${r.body.id}`, { token: key });
    const list = await api.call('GET', '/v1/connections', { token: key });
    for (const body of [r.body, got.body, list.body]) {
      const text = JSON.stringify(body);
      assert.ok(!text.includes('BEGIN'), 'no PEM in any answer');
      assert.ok(!text.includes(client.key.split('\n')[1]!), 'no key material');
    }
    assert.equal((await api.call('GET', `/v1/connections/${r.body.id}`, { token: other })).status, 404);

    const patched = await api.call('PATCH', `/v1/connections/${r.body.id}`, { token: key, body: { tls: { ca_certificates: ca.cert } } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.tls.client_certificate, null);
    assert.equal(patched.body.tls.client_key_set, false);
    assert.equal(patched.body.username, 'crm', 'the kind\'s fields are unchanged');
    const removed = await api.call('PATCH', `/v1/connections/${r.body.id}`, { token: key, body: { tls: null } });
    assert.equal(removed.body.tls, null);

    // Stored encrypted: the row holds no PEM.
    const rows = await api.core.store.db.selectFrom('connections').select(['tls', 'tls_info']).execute();
    for (const row of rows) assert.ok(!String(row.tls).includes('BEGIN'));
  });

  test('bad PEM, an expired certificate, a key that is not the certificate\'s, half a pair: 400 with a stable code', async () => {
    const client = ca.issue({ cn: 'voiceoi-hooks' });
    const another = ca.issue({ cn: 'someone-else' });
    const expired = ca.issue({ cn: 'old', days: -1 });
    const cases: [string, unknown, string, RegExp][] = [
      ['not PEM', { ca_certificates: 'hello' }, 'tls_invalid_pem', /^tls\.ca_certificates: must be one or more PEM certificates/],
      ['a key as CA', { ca_certificates: client.key }, 'tls_invalid_pem', /tls\.ca_certificates/],
      ['garbage in PEM', { ca_certificates: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }, 'tls_invalid_pem', /not a valid X\.509 certificate/],
      ['expired CA', { ca_certificates: expired.cert }, 'tls_certificate_expired', /expired on/],
      ['expired client', { client_certificate: expired.cert, client_key: expired.key }, 'tls_certificate_expired', /tls\.client_certificate/],
      ['mismatch', { client_certificate: client.cert, client_key: another.key }, 'tls_key_mismatch', /^tls\.client_key: is not the private key of client_certificate/],
      ['bad key', { client_certificate: client.cert, client_key: 'nope' }, 'tls_invalid_key', /tls\.client_key/],
      ['no key', { client_certificate: client.cert }, 'tls_client_pair_incomplete', /both client_certificate and client_key/],
    ];
    for (const [what, tls, code, message] of cases) {
      const r = await create(tls);
      assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, code, what);
      assert.match(r.body.message, message, what);
      const sent = Object.values(tls as Record<string, string>).flatMap((pem) => pem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')));
      assert.ok(!sent.some((line) => r.body.message.includes(line)), `${what}: the message never quotes the PEM`);
    }
    const unknownField = await create({ ca_certificates: ca.cert, verify: false });
    assert.equal(unknownField.status, 400, 'verification cannot be turned off');
  });

  test('any connection kind takes tls', async () => {
    const r = await create({ ca_certificates: ca.cert }, { kind: 'headers', headers: { 'x-api-key': 'k' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.tls.ca_certificates.length, 1);
  });
});
