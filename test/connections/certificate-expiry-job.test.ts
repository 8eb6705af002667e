import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPrivateCa } from '../support/certificates.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { createConnection, createDestination } from '../support/resources.ts';
import { startStack, type Stack } from '../support/stack.ts';

describe('hook.connection_certificate_expiring: a certificate expiring within 14 days is announced once a day', () => {
  let stack: Stack;
  let receiver: Receiver;
  before(async () => {
    stack = await startStack({}, { worker: false });
    receiver = await startReceiver();
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  test('the worker\'s job sends one event per expiring certificate; a restart the same day sends none again; a certificate far from expiry none', async () => {
    const { api_key: key } = await stack.createAccount();
    const ca = createPrivateCa('BPO Internal');
    const soon = ca.issue({ cn: 'expires-soon', days: 7 });
    const later = ca.issue({ cn: 'expires-later', days: 90 });
    const expiring = await createConnection(stack, key, { kind: 'basic', name: 'soon', username: 'u', password: 'p', tls: { client_certificate: soon.cert, client_key: soon.key } });
    await createConnection(stack, key, { kind: 'basic', name: 'later', username: 'u', password: 'p', tls: { client_certificate: later.cert, client_key: later.key } });
    await createDestination(stack, key, { url: receiver.url, event_types: ['hook.connection_certificate_expiring'] });

    await stack.startWorker();
    const [got] = await receiver.waitFor(1, 30_000);
    const event = JSON.parse(got!.body) as { type: string; data: Record<string, unknown> };
    assert.equal(event.type, 'hook.connection_certificate_expiring');
    assert.equal(event.data.connection_id, expiring.id);
    assert.equal(event.data.field, 'client_certificate');
    assert.match(String(event.data.subject), /CN=expires-soon/);
    assert.equal(event.data.fingerprint, expiring.tls.client_certificate.fingerprint);
    assert.ok(event.data.days_left === 6 || event.data.days_left === 7, `days_left ${event.data.days_left}`);

    // Another worker start (as on another replica) the same day: the notice is not sent again.
    await stack.stopWorker();
    await stack.startWorker();
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(receiver.requests.length, 1);
  });
});
