import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isReservedHeader } from '../../sandboxes/reserved-headers.ts';
import { normaliseResult } from '../../sandboxes/result-shape.ts';
import { callCompleted } from '../support/events.ts';
import { startDeliveryStack, type DeliveryStack } from '../support/delivery-stack.ts';
import type { Receiver } from '../support/receiver.ts';
import { settled } from '../support/stack.ts';
import { createDestination, createMapping } from '../support/resources.ts';

// issue 10: a header connection set `Origin: http://127.0.0.1:8233` and the codec took the caller for
// the Temporal UI. Claims about the caller, and what VoiceOI sets itself, come from no tenant.
const CLAIMS = ['Origin', 'Cookie', 'Host', 'Forwarded', 'X-Forwarded-For', 'x-forwarded-host', 'X-Forwarded-Proto', 'X-Real-IP'];
const OURS = ['webhook-id', 'Webhook-Signature', 'webhook-anything', 'X-VoiceOI-Event', 'x-voiceoi-future', 'Content-Type', 'User-Agent'];
const HOP_BY_HOP = ['Content-Length', 'Transfer-Encoding', 'Connection', 'Keep-Alive', 'Upgrade', 'TE', 'Trailer', 'Expect', 'Proxy-Authorization'];

function refusal(value: unknown): string {
  const check = normaliseResult(value);
  assert.equal(check.ok, false, JSON.stringify(value));
  return check.ok ? '' : check.message;
}

describe('reserved headers: one list', () => {
  test('claims about the caller, VoiceOI\'s own headers and hop-by-hop headers are reserved, in any case', () => {
    for (const name of [...CLAIMS, ...OURS, ...HOP_BY_HOP]) {
      assert.equal(isReservedHeader(name), true, name);
      assert.equal(isReservedHeader(name.toUpperCase()), true, name);
    }
    for (const name of ['Authorization', 'X-Api-Key', 'X-Mapping-Version', 'Accept', 'X-Forwarded', 'Originator']) assert.equal(isReservedHeader(name), false, name);
  });
});

describe('a transform\'s output (normaliseResult)', () => {
  test('cannot set a reserved header', () => {
    for (const name of [...CLAIMS, ...OURS, ...HOP_BY_HOP]) {
      assert.match(refusal({ body: 1, headers: { [name]: 'x' } }), /cannot come from a transform/, name);
    }
  });

  test('header values are field values: no control characters, nothing above U+00FF, bounded length', () => {
    for (const value of ['bell\u0007', 'esc\u001b[31m', 'del\u007f', 'tab-ok-but-vt\u000b', 'arrow →', 'emoji 🙂']) {
      assert.match(refusal({ body: 1, headers: { 'X-Note': value } }), /X-Note.*(control character|above U\+00FF)/, JSON.stringify(value));
    }
    assert.match(refusal({ body: 1, headers: { 'X-Note': 'a\r\nInjected: 1' } }), /line break/);
    assert.match(refusal({ body: 1, headers: { 'X-Note': 'x'.repeat(8 * 1024 + 1) } }), /longer than 8192/);
    assert.match(refusal({ body: 1, headers: { ['X'.repeat(101)]: 'x' } }), /not a valid HTTP header name/);
    assert.match(refusal({ body: 1, headers: { 'X-A': '1', 'x-a': '2' } }), /appears twice/);
    assert.match(refusal({ body: 1, headers: { 'X:A': '1' } }), /not a valid HTTP header name/);
    assert.deepEqual(normaliseResult({ body: 1, headers: { 'X-Note': 'tab\tand café, 100% fine' } }), {
      ok: true,
      request: { method: 'POST', body: 1, headers: { 'X-Note': 'tab\tand café, 100% fine' } },
    });
  });

  test('percent-encoded dot segments and encoded slashes are refused like plain ".."', () => {
    for (const path of ['/a/%2e%2e/admin', '/a/%2E%2E/admin', '/a/.%2e/admin', '/a/%2e./admin', '/a/.%2E', '/%2e/x', '/a/%2E', '/a/..%2fadmin', '/a%2F..%2Fadmin', '/a/%5c..%5cadmin']) {
      assert.match(refusal({ body: 1, path }), /"path" cannot contain/, path);
    }
    // Dots inside a segment are ordinary characters, and so is any other escape.
    for (const path of ['/v60.0/sobjects/Lead', '/files/report..pdf', '/a/%2e%2e%2e', '/a/%41bc', '/a/...']) {
      assert.equal(normaliseResult({ body: 1, path }).ok, true, path);
    }
  });
});

describe('reserved headers, against the real stack', () => {
  let stack: DeliveryStack;
  let receiver: Receiver;
  let key: string;
  let accountId: string;

  before(async () => {
    stack = await startDeliveryStack();
    ({ receiver, account: { api_key: key, id: accountId } } = stack);
  });
  after(() => stack.stop());

  test('a header connection cannot set a reserved header (400, naming the header)', async () => {
    for (const name of [...CLAIMS, 'webhook-anything', 'X-VoiceOI-Future', 'Proxy-Authorization']) {
      const r = await stack.call('POST', '/v1/connections', { token: key, body: { kind: 'headers', name: 'h', headers: { [name]: 'http://127.0.0.1:8233' } } });
      assert.equal(r.status, 400, name);
      assert.equal(r.body.code, 'validation_error');
      assert.match(r.body.message, new RegExp(`${name}.*reserved`), name);
      assert.ok(!JSON.stringify(r.body).includes('127.0.0.1:8233'), 'the (secret) value is not echoed');
    }
    const created = await stack.call('POST', '/v1/connections', { token: key, body: { kind: 'headers', name: 'h', headers: { 'X-Api-Key': 'k' } } });
    assert.equal(created.status, 201);
    const patched = await stack.call('PATCH', `/v1/connections/${created.body.id}`, { token: key, body: { headers: { Origin: 'http://127.0.0.1:8233' } } });
    assert.equal(patched.status, 400);
  });

  test('a connection stored before a name was reserved is sent without that header', async () => {
    // Written to the store directly, as an older version accepted it.
    const conn = await stack.core.store.connections.create(accountId, {
      name: 'legacy',
      status: 'connected',
      spec: { kind: 'headers', settings: { header_names: ['Origin', 'X-Api-Key'] }, secrets: { headers: { Origin: 'http://127.0.0.1:8233', 'X-Api-Key': 'k1' } } },
    });
    const dest = await createDestination(stack, key, { url: `${receiver.url}/legacy`, connection_id: conn.id });
    const ingested = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_${randomBytes(4).toString('hex')}`) });
    assert.equal((await settled(stack, key, ingested.body.deliveries[0].id)).status, 'delivered');
    const got = receiver.requests.find((r) => r.url === '/legacy')!;
    assert.equal(got.headers['x-api-key'], 'k1');
    assert.equal(got.headers.origin, undefined);
    await stack.call('DELETE', `/v1/destinations/${dest.id}`, { token: key });
  });

  test('a transform with a bad header value fails the delivery with a clear error, instead of 202-then-undeliverable', async () => {
    const source = `export default (event: any) => ({ body: { id: event.id }, headers: { 'X-Note': 'ring \\u0007 bell' } })`;
    const tried = await stack.call('POST', '/v1/mappings/test', { token: key, body: { language: 'typescript', source, event: callCompleted('evt_bell') } });
    assert.equal(tried.status, 422, JSON.stringify(tried.body));
    assert.equal(tried.body.code, 'invalid_result');
    assert.match(tried.body.message, /X-Note.*control character/);

    const m = await createMapping(stack, key, { name: 'bell', language: 'typescript', source });
    await createDestination(stack, key, { url: `${receiver.url}/bell`, mapping_id: m.id, retry_schedule_s: [0, 1, 1] });
    const ingested = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_${randomBytes(4).toString('hex')}`) });
    assert.equal(ingested.status, 202);
    const delivery = await settled(stack, key, ingested.body.deliveries[0].id);
    assert.equal(delivery.status, 'failed');
    assert.match(delivery.reason ?? '', /transform failed: .*X-Note.*control character/);
    assert.equal(delivery.attempts.length, 0);
    assert.ok(!receiver.requests.some((r) => r.url === '/bell'));
  });
});
