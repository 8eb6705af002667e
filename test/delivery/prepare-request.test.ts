import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import type { AttemptInput, OutgoingRequest } from '../../workflows/types.ts';
import { prepareRequest, withCredentials, type PreparedRequest } from '../../src/delivery/prepare-request.ts';
import type { Destination } from '../../src/store/destinations.ts';
import { callCompleted } from '../support/events.ts';

// prepareRequest is pure: no store, no server, no clock but the one it is handed.
const startedAt = new Date('2026-11-27T10:00:05.750Z');
const secret = `whsec_${Buffer.from('a signing secret of 32 bytes!!!!').toString('base64')}`;
const destination = (over: Partial<Destination> = {}): Destination => ({
  id: 'dst_1',
  account_id: 'acc_1',
  url: 'https://hooks.example.com/hooks/in?k=1',
  description: null,
  event_types: ['call_completed'],
  mapping_id: null,
  mapping_version: null,
  connection_id: null,
  enabled: true,
  paused: false,
  disabled_reason: null,
  timeout_ms: 10_000,
  retry_schedule_s: [0],
  max_in_flight: 20,
  rate_limit_per_s: null,
  ordering: 'none',
  filter: null,
  signature_scheme: 'hmac-sha256',
  signing_public_key: null,
  mode: 'push',
  stream_origins: [],
  record_bodies: true,
  created_at: '2026-11-01T00:00:00Z',
  updated_at: '2026-11-01T00:00:00Z',
  ...over,
});
const input = (over: Partial<AttemptInput> = {}): AttemptInput => ({
  accountId: 'acc_1',
  deliveryId: 'dlv_1',
  destinationId: 'dst_1',
  event: { ...callCompleted('evt_1'), account_id: 'acc_1' },
  attempt: 3,
  request: null,
  ...over,
});
const prepare = (over: { dest?: Partial<Destination>; input?: Partial<AttemptInput>; secrets?: string[] } = {}) =>
  prepareRequest(destination(over.dest), input(over.input), over.secrets ?? [secret], { version: '1.2.3', startedAt });
const prepared = (over: Parameters<typeof prepare>[0] = {}): PreparedRequest => {
  const p = prepare(over);
  assert.ok(!('notSent' in p), JSON.stringify(p));
  return p;
};
const transformed = (request: OutgoingRequest) => prepared({ input: { request } });
const notSent = (over: Parameters<typeof prepare>[0]) => {
  const p = prepare(over);
  assert.ok('notSent' in p, 'expected the attempt to stop before sending');
  return p.notSent;
};
const hmac = (key: string, content: string) =>
  `v1,${createHmac('sha256', Buffer.from(key.slice('whsec_'.length), 'base64')).update(content).digest('base64')}`;

describe('prepareRequest builds, signs and records the request of an attempt', () => {
  test('the envelope is signed per Standard Webhooks over id.timestamp.body, with every secret valid now', () => {
    const { request } = prepared();
    const body = JSON.stringify(input().event);
    assert.equal(request.method, 'POST');
    assert.equal(request.body, body);
    assert.equal(request.headers['webhook-id'], 'evt_1');
    assert.equal(request.headers['webhook-timestamp'], '1795773605');
    assert.equal(request.headers['webhook-signature'], hmac(secret, `evt_1.1795773605.${body}`));
    assert.equal(request.headers['x-voiceoi-signature'], request.headers['webhook-signature']);
    assert.equal(request.headers['x-voiceoi-event'], 'call_completed');
    assert.equal(request.headers['x-voiceoi-delivery'], 'dlv_1');
    assert.equal(request.headers['x-voiceoi-attempt'], '3');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers['user-agent'], 'VoiceOI-Hooks/1.2.3');
    assert.equal(request.headers['x-voiceoi-test'], undefined);

    const older = `whsec_${Buffer.from('the previous secret, still valid').toString('base64')}`;
    const rotating = prepared({ secrets: [secret, older] }).request.headers['webhook-signature'];
    assert.equal(rotating, `${hmac(secret, `evt_1.1795773605.${body}`)} ${hmac(older, `evt_1.1795773605.${body}`)}`);
  });

  test('a test send says so in X-VoiceOI-Test', () => {
    assert.equal(prepared({ input: { test: true } }).request.headers['x-voiceoi-test'], 'true');
  });

  test("a transform's body, method, path and query are sent under the destination's URL", () => {
    const { request, record } = transformed({ method: 'PUT', path: 'leads/884', query: { source: 'voice ai', k: '2' }, body: { lead: 884 } });
    assert.equal(request.method, 'PUT');
    assert.equal(request.url.toString(), 'https://hooks.example.com/hooks/in/leads/884?k=2&source=voice+ai');
    assert.equal(request.body, '{"lead":884}');
    assert.equal(record.url, request.url.toString());
    assert.equal(transformed({ method: 'POST', path: '/leads/884', body: {} }).request.url.pathname, '/hooks/in/leads/884');
    const atRoot = prepared({ dest: { url: 'https://hooks.example.com/' }, input: { request: { method: 'POST', path: '/x', body: {} } } });
    assert.equal(atRoot.request.url.toString(), 'https://hooks.example.com/x');
  });

  test("a path that resolves outside the destination's path is refused, nothing prepared", () => {
    for (const path of ['/../admin', '/a/%2e%2e/%2e%2e/admin', '/.%2E/x', '..']) {
      const out = notSent({ input: { request: { method: 'POST', path, body: {} } } });
      assert.equal(out.verdict, 'failed', path);
      assert.equal(out.error?.code, 'path_refused', path);
      assert.equal(out.request, undefined, path);
    }
  });

  test('reserved headers a transform sets are dropped; its other headers are sent lower-cased', () => {
    const { request } = transformed({
      method: 'POST',
      body: {},
      headers: { Origin: 'http://127.0.0.1:8233', 'X-Forwarded-For': '10.0.0.1', 'webhook-signature': 'v1,forged', 'X-VoiceOI-Event': 'forged', Host: 'internal', 'X-Ok': 'fine' },
    });
    assert.equal(request.headers.origin, undefined);
    assert.equal(request.headers['x-forwarded-for'], undefined);
    assert.equal(request.headers.host, undefined);
    assert.notEqual(request.headers['webhook-signature'], 'v1,forged');
    assert.equal(request.headers['x-voiceoi-event'], 'call_completed');
    assert.equal(request.headers['x-ok'], 'fine');
  });

  test('an unsendable header name or value fails the attempt instead of retrying it', () => {
    for (const headers of [{ 'X-Note': 'ring \u0007' }, { 'Bad Name': 'x' }, { 'X-Split': 'a\r\nInjected: 1' }] as Record<string, string>[]) {
      const out = notSent({ input: { request: { method: 'POST', body: {}, headers } } });
      assert.equal(out.verdict, 'failed');
      assert.equal(out.error?.code, 'invalid_request_header');
    }
  });

  test('the record holds the request as sent, with a connection\'s header values redacted', () => {
    const base = transformed({ method: 'POST', body: { a: 1 }, headers: { 'X-Api-Key': 'from the mapping' } });
    assert.deepEqual(base.record.headers, base.request.headers);
    assert.equal(base.record.body, '{"a":1}');
    assert.equal(base.record.body_bytes, 7);
    assert.equal(base.record.body_truncated, false);

    const withToken = withCredentials(base, { Authorization: 'Bearer s3cret-token', 'X-Api-Key': 'k3y-secret', Host: 'evil' });
    assert.equal(withToken.request.headers.authorization, 'Bearer s3cret-token');
    assert.equal(withToken.request.headers['x-api-key'], 'k3y-secret', "a connection's header wins over the mapping's");
    assert.equal(withToken.request.headers.host, undefined, 'a reserved name stored on an old connection is not sent');
    assert.equal(withToken.record.headers.authorization, '[redacted]');
    assert.equal(withToken.record.headers['x-api-key'], '[redacted]');
    assert.doesNotMatch(JSON.stringify(withToken.record), /s3cret|k3y-secret/);
    assert.equal(withToken.record.headers['webhook-id'], 'evt_1');

    // A refreshed token replaces the old one: credentials apply to the prepared request, not on top.
    const refreshed = withCredentials(base, { Authorization: 'Bearer fresh' });
    assert.equal(refreshed.request.headers.authorization, 'Bearer fresh');
    assert.equal(refreshed.request.headers['x-api-key'], 'from the mapping');
    assert.equal(refreshed.record.headers['x-api-key'], 'from the mapping');
    assert.equal(base.request.headers.authorization, undefined, 'the prepared request is not changed');
  });

  test('a large body is recorded whole with its size: the attempt bounds the record once, as it ends (test/delivery/attempt.test.ts)', () => {
    const big = 'x'.repeat(100_000);
    const { request, record } = transformed({ method: 'POST', body: { big } });
    assert.equal(request.body.length, 100_010);
    assert.equal(record.body, request.body);
    assert.equal(record.body_bytes, 100_010);
    assert.equal(record.body_truncated, false);
  });

  test('a destination of another account, a disabled one or a paused one sends nothing', () => {
    const foreign = notSent({ dest: { account_id: 'acc_2' } });
    assert.equal(foreign.verdict, 'failed');
    assert.equal(foreign.error?.code, 'destination_not_in_account');
    const forgedEvent = notSent({ input: { event: { ...callCompleted('evt_1'), account_id: 'acc_2' } } });
    assert.equal(forgedEvent.error?.code, 'destination_not_in_account');

    const disabled = notSent({ dest: { enabled: false, disabled_reason: 'the destination answered 410 Gone at 2026-11-27T10:00:00.000Z' } });
    assert.deepEqual(disabled, { verdict: 'cancelled', error: { code: 'destination_disabled', message: 'the destination answered 410 Gone at 2026-11-27T10:00:00.000Z' } });
    assert.equal(notSent({ dest: { enabled: false } }).error?.message, 'the destination is disabled');

    assert.deepEqual(notSent({ dest: { paused: true } }), { verdict: 'retry', error: { code: 'destination_paused', message: 'the destination is paused' } });
  });
});
