import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPrivateCa, startHttpsReceiver, type HttpsReceiver, type PrivateCa } from '../support/certificates.ts';
import { callCompleted } from '../support/events.ts';
import { createConnection, createDestination } from '../support/resources.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';

type Settled = { status: string; attempts: { error?: { code: string; message: string }; response?: { status: number } }[] };

// A BPO's internal tool: an HTTPS server with a certificate from the BPO's own CA, which accepts only
// clients presenting a certificate that CA issued.
describe('per-connection TLS: a private CA and mutual TLS at delivery time', () => {
  let stack: Stack;
  let key: string;
  let bpo: PrivateCa;
  let internal: HttpsReceiver;
  let expired: HttpsReceiver;
  let n = 0;
  before(async () => {
    stack = await startStack();
    key = (await stack.createAccount()).api_key;
    bpo = createPrivateCa('BPO Internal');
    internal = await startHttpsReceiver(bpo.issue({ cn: 'crm.bpo.internal', server: true }), { clientCa: bpo.cert });
    expired = await startHttpsReceiver(bpo.issue({ cn: 'old.bpo.internal', server: true, days: -1 }));
  });
  after(async () => {
    await internal.close();
    await expired.close();
    await stack.stop();
  });

  /** Delivers one event to a new destination at `url` with `tls` on a headers connection (or no connection), and settles it. */
  async function deliver(url: string, tls?: Record<string, string>): Promise<Settled> {
    const tag = `mtls_${++n}`;
    const connection = tls ? await createConnection(stack, key, { kind: 'headers', name: tag, headers: { 'x-tenant': tag }, tls }) : undefined;
    const d = await createDestination(stack, key, { url: `${url}/${tag}`, event_types: ['call_completed'], connection_id: connection?.id ?? null, retry_schedule_s: [0, 0, 0] });
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_${tag}`, { call_id: `call_${tag}` }) });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = (res.body.deliveries as { id: string; destination_id: string }[]).find((x) => x.destination_id === d.id)!.id;
    // The destination is disabled afterwards so later events do not reach it.
    const delivery = await settled<Settled>(stack, key, id);
    await stack.call('PATCH', `/v1/destinations/${d.id}`, { token: key, body: { enabled: false } });
    return delivery;
  }

  test('with the CA and the client certificate on its connection, the delivery arrives, presenting that certificate', async () => {
    const client = bpo.issue({ cn: 'voiceoi-hooks' });
    const d = await deliver(internal.url, { ca_certificates: bpo.cert, client_certificate: client.cert, client_key: client.key });
    assert.equal(d.status, 'delivered', JSON.stringify(d.attempts));
    const got = internal.requests.at(-1)!;
    assert.equal(got.clientCertificate, 'voiceoi-hooks');
    assert.equal(got.headers['x-tenant'], `mtls_${n}`);
  });

  test('without the CA: tls_unknown_ca, failed at the first attempt (a configuration failure, not retried)', async () => {
    const d = await deliver(internal.url);
    assert.equal(d.status, 'failed');
    assert.equal(d.attempts.length, 1, 'not retried');
    assert.equal(d.attempts[0]!.error?.code, 'tls_unknown_ca');
    assert.match(d.attempts[0]!.error!.message, /tls\.ca_certificates/);
  });

  test('with the CA but no client certificate: tls_handshake_refused', async () => {
    const d = await deliver(internal.url, { ca_certificates: bpo.cert });
    assert.equal(d.status, 'failed');
    assert.equal(d.attempts.length, 1);
    assert.equal(d.attempts[0]!.error?.code, 'tls_handshake_refused', JSON.stringify(d.attempts[0]));
  });

  test('with a client certificate from another CA: tls_handshake_refused; with another CA trusted: tls_unknown_ca', async () => {
    const other = createPrivateCa('Someone Else');
    const foreign = other.issue({ cn: 'intruder' });
    const refused = await deliver(internal.url, { ca_certificates: bpo.cert, client_certificate: foreign.cert, client_key: foreign.key });
    assert.equal(refused.attempts[0]!.error?.code, 'tls_handshake_refused', JSON.stringify(refused.attempts[0]));
    const wrongCa = await deliver(internal.url, { ca_certificates: other.cert });
    assert.equal(wrongCa.attempts[0]!.error?.code, 'tls_unknown_ca');
    assert.ok(!internal.requests.some((r) => r.clientCertificate === 'intruder'), 'no request got through');
  });

  test("a server whose certificate expired: tls_certificate_expired, even with its CA trusted", async () => {
    const d = await deliver(expired.url, { ca_certificates: bpo.cert });
    assert.equal(d.status, 'failed');
    assert.equal(d.attempts[0]!.error?.code, 'tls_certificate_expired');
    assert.equal(expired.requests.length, 0);
  });
});
