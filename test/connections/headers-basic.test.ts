import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';
import { destinationFor, postEvent } from './support/flows.ts';

describe('headers and basic connections on deliveries', () => {
  let stack: Stack;
  let receiver: Receiver;
  before(async () => {
    stack = await startStack();
    receiver = await startReceiver();
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  test('custom headers reach the destination; the attempt record shows them redacted; a PATCH takes effect', async () => {
    const token = (await stack.createAccount()).api_key;
    const key = `key_${randomBytes(12).toString('hex')}`;
    const c = await stack.call('POST', '/v1/connections', { token, body: { kind: 'headers', name: 'CRM', headers: { 'X-Api-Key': key, 'X-Tenant': 'bpo-17' } } });
    assert.equal(c.status, 201);
    await destinationFor(stack, token, `${receiver.url}/headers`, c.body.id);
    const [d] = await postEvent(stack, token, 'hdr-1');
    const delivery = await settled(stack, token, d!);
    assert.equal(delivery.status, 'delivered');
    const got = receiver.requests.find((r) => r.url === '/headers')!;
    assert.equal(got.headers['x-api-key'], key);
    assert.equal(got.headers['x-tenant'], 'bpo-17');
    assert.ok(got.headers['webhook-signature'], 'signing is unaffected');
    const recorded = delivery.attempts[0]!.request!.headers;
    assert.equal(recorded['x-api-key'], '[redacted]');
    assert.equal(recorded['x-tenant'], '[redacted]', 'every connection header value is treated as secret');
    assert.ok(!JSON.stringify(delivery).includes(key));

    const rotated = `key_${randomBytes(12).toString('hex')}`;
    assert.equal((await stack.call('PATCH', `/v1/connections/${c.body.id}`, { token, body: { headers: { 'X-Api-Key': rotated } } })).status, 200);
    const [d2] = await postEvent(stack, token, 'hdr-2');
    assert.equal((await settled(stack, token, d2!)).status, 'delivered');
    const second = receiver.requests.filter((r) => r.url === '/headers')[1]!;
    assert.equal(second.headers['x-api-key'], rotated);
    assert.equal(second.headers['x-tenant'], undefined, 'the header set was replaced');
  });

  test('basic credentials arrive as an Authorization header the destination can decode', async () => {
    const token = (await stack.createAccount()).api_key;
    const password = `pw_${randomBytes(12).toString('hex')}`;
    const c = await stack.call('POST', '/v1/connections', { token, body: { kind: 'basic', name: 'Dialer', username: 'voiceoi-bot', password } });
    await destinationFor(stack, token, `${receiver.url}/basic`, c.body.id);
    const [d] = await postEvent(stack, token, 'basic-1');
    const delivery = await settled(stack, token, d!);
    assert.equal(delivery.status, 'delivered');
    const auth = String(receiver.requests.find((r) => r.url === '/basic')!.headers.authorization);
    assert.equal(Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString(), `voiceoi-bot:${password}`);
    assert.equal(delivery.attempts[0]!.request!.headers.authorization, '[redacted]');
  });

  test('a deleted connection fails the delivery with a clear, final error', async () => {
    const token = (await stack.createAccount()).api_key;
    const c = await stack.call('POST', '/v1/connections', { token, body: { kind: 'basic', name: 'gone', username: 'u', password: 'p' } });
    const dest = await destinationFor(stack, token, `${receiver.url}/gone`, c.body.id, [0, 1]);
    // Deleting is refused while in use; a store-level delete stands in for a race with an in-flight delivery.
    const account = (await stack.core.store.accounts.findByApiKey(token))!;
    await stack.core.store.connections.delete(account.id, c.body.id);
    assert.ok(dest);
    const [d] = await postEvent(stack, token, 'gone-1');
    const delivery = await settled(stack, token, d!);
    assert.equal(delivery.status, 'failed');
    assert.equal(delivery.attempts.length, 1);
    assert.equal(delivery.attempts[0]!.error?.code, 'connection_not_found');
    assert.equal(receiver.requests.filter((r) => r.url === '/gone').length, 0);
  });
});
