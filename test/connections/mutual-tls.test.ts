import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPrivateCa, startHttpsReceiver, type HttpsReceiver, type PrivateCa } from '../support/certificates.ts';
import { bearerOf } from '../support/receiver.ts';
import { createConnection, createDestination } from '../support/resources.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';
import { callCompleted } from '../support/events.ts';
import { startOAuthServer, type OAuthServer } from './support/oauth-server.ts';

type Settled = { status: string; attempts: { error?: { code: string; message: string } }[] };

// RFC 8705's transport: the BPO's identity provider (the real oidc-provider) is behind HTTPS with a
// certificate from the BPO's CA and accepts only clients presenting a certificate that CA issued. The
// connection's TLS applies to its token request as to its deliveries.
describe('an OAuth2 client-credentials token request over mutual TLS', () => {
  let stack: Stack;
  let key: string;
  let ca: PrivateCa;
  let oauth: OAuthServer;
  let crm: HttpsReceiver;
  let n = 0;
  before(async () => {
    ca = createPrivateCa('BPO Identity');
    oauth = await startOAuthServer({ tls: { ...ca.issue({ cn: 'sso.bpo.internal', server: true }), clientCa: ca.cert } });
    crm = await startHttpsReceiver(ca.issue({ cn: 'crm.bpo.internal', server: true }), { clientCa: ca.cert });
    stack = await startStack();
    key = (await stack.createAccount()).api_key;
  });
  after(async () => {
    await stack.stop();
    await crm.close();
    await oauth.close();
  });

  async function deliver(tls: Record<string, string>): Promise<Settled> {
    const tag = `oauth_mtls_${++n}`;
    const connection = await createConnection(stack, key, {
      kind: 'oauth2_client_credentials',
      name: tag,
      token_url: oauth.tokenUrl,
      client_id: oauth.clients.basic.id,
      client_secret: oauth.clients.basic.secret,
      scope: 'crm.write',
      tls,
    });
    const d = await createDestination(stack, key, { url: `${crm.url}/${tag}`, event_types: ['call_completed'], connection_id: connection.id, retry_schedule_s: [0] });
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_${tag}`, { call_id: `call_${tag}` }) });
    const id = (res.body.deliveries as { id: string; destination_id: string }[]).find((x) => x.destination_id === d.id)!.id;
    const settledDelivery = await settled<Settled>(stack, key, id);
    await stack.call('PATCH', `/v1/destinations/${d.id}`, { token: key, body: { enabled: false } });
    return settledDelivery;
  }

  test('with the CA and client certificate, the token request and the delivery both present the certificate', async () => {
    const client = ca.issue({ cn: 'voiceoi-hooks' });
    const d = await deliver({ ca_certificates: ca.cert, client_certificate: client.cert, client_key: client.key });
    assert.equal(d.status, 'delivered', JSON.stringify(d.attempts));
    assert.deepEqual(oauth.clientCertificates, ['voiceoi-hooks']);
    assert.equal(oauth.grants().length, 1);
    const got = crm.requests.at(-1)!;
    assert.equal(got.clientCertificate, 'voiceoi-hooks');
    assert.ok(bearerOf(got.headers), 'the delivery carried the token');
  });

  test('without the client certificate the token request is refused by the handshake: a precise error, not retried', async () => {
    const d = await deliver({ ca_certificates: ca.cert });
    assert.equal(d.status, 'failed');
    assert.equal(d.attempts.length, 1);
    assert.equal(d.attempts[0]!.error?.code, 'tls_handshake_refused', JSON.stringify(d.attempts[0]));
    assert.match(d.attempts[0]!.error!.message, /token endpoint/);
    const connections = (await stack.call('GET', '/v1/connections', { token: key })).body.items as { name: string; status: string; last_error: { code: string } | null }[];
    assert.equal(connections.find((c) => c.name === `oauth_mtls_${n}`)?.last_error?.code, 'tls_handshake_refused');
  });

  test('without the CA the token endpoint\'s certificate is not trusted: tls_unknown_ca', async () => {
    const d = await deliver({ ca_certificates: createPrivateCa('Other').cert });
    assert.equal(d.attempts[0]!.error?.code, 'tls_unknown_ca', JSON.stringify(d.attempts[0]));
  });
});
