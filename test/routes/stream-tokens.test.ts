import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApi, type TestApi } from '../support/api.ts';
import { createPullDestination } from '../support/streams.ts';

// Stream tokens and the reads' CORS, through the real API (inject): a token reads one pull
// destination's messages and stream, nothing else, and never reaches a log.

describe('stream tokens, CORS and retention of a pull destination', () => {
  let api: TestApi;
  let key: string;
  const lines: string[] = [];
  before(async () => {
    api = await startApi({ LOG_LEVEL: 'info' }, { log: (line) => lines.push(line) });
    key = (await api.createAccount()).api_key;
  });
  after(() => api.stop());

  const tokenFor = async (id: string, ttl_s = 600) => {
    const r = await api.call('POST', `/v1/destinations/${id}/stream-tokens`, { token: key, body: { ttl_s } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { token: string; expires_at: string };
  };
  const append = (destinationId: string, n: number) =>
    api.core.store.messages.append({
      accountId: 'acc',
      destinationId,
      deliveryId: `delivery:${destinationId}:evt_${n}`,
      eventId: `evt_${n}`,
      eventType: 'call_completed',
      headers: { 'webhook-id': `evt_${n}`, 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' },
      body: '{}',
    });

  test("a token reads its destination's messages and is refused on every other destination and route", async () => {
    const dest = await createPullDestination(api, key);
    const other = await createPullDestination(api, key);
    await append(dest.id, 1);
    const { token, expires_at } = await tokenFor(dest.id);
    assert.ok(Date.parse(expires_at) > Date.now() + 500_000);

    const page = await api.call('GET', `/v1/destinations/${dest.id}/messages?token=${token}`);
    assert.equal(page.status, 200);
    assert.equal(page.body.items.length, 1);

    const elsewhere = await api.call('GET', `/v1/destinations/${other.id}/messages?token=${token}`);
    assert.equal(elsewhere.status, 403);
    assert.equal(elsewhere.body.code, 'stream_token_scope');
    for (const [method, path] of [
      ['GET', `/v1/destinations/${dest.id}?token=${token}`],
      ['GET', `/v1/destinations?token=${token}`],
      ['POST', `/v1/destinations/${dest.id}/stream-tokens?token=${token}`],
      ['POST', `/v1/destinations/${dest.id}/messages/1/ack?token=${token}`],
      ['GET', `/v1/deliveries?token=${token}`],
    ] as const) {
      const r = await api.call(method, path, method === 'POST' ? { body: { status: 200, duration_ms: 1 } } : {});
      assert.equal(r.status, 401, `${method} ${path}`);
    }
    // Nor is it an API key.
    assert.equal((await api.call('GET', `/v1/destinations/${dest.id}/messages`, { token })).status, 401);
    // A token of one destination, tampered to name another, fails its signature.
    const [payload, mac] = token.slice(4).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = `vst_${Buffer.from(JSON.stringify({ ...claims, d: other.id })).toString('base64url')}.${mac}`;
    const refused = await api.call('GET', `/v1/destinations/${other.id}/messages?token=${forged}`);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'invalid_stream_token');
  });

  test('a token is refused after it expires', async () => {
    const dest = await createPullDestination(api, key);
    const { token } = await tokenFor(dest.id, 1);
    assert.equal((await api.call('GET', `/v1/destinations/${dest.id}/messages?token=${token}`)).status, 200);
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await api.call('GET', `/v1/destinations/${dest.id}/messages?token=${token}`);
    assert.equal(expired.status, 401);
    assert.equal(expired.body.code, 'stream_token_expired');
  });

  test('the query string, and so the token, never reaches the log', async () => {
    const dest = await createPullDestination(api, key);
    const { token } = await tokenFor(dest.id);
    lines.length = 0;
    assert.equal((await api.call('GET', `/v1/destinations/${dest.id}/messages?limit=5&token=${token}`)).status, 200);
    assert.ok(lines.some((l) => l.includes(`/v1/destinations/${dest.id}/messages?[redacted]`)), lines.join('\n'));
    assert.ok(!lines.some((l) => l.includes(token.slice(4, 30))), 'the token is in a log line');
  });

  test("CORS: a listed origin may read the answer, any other origin gets no CORS header", async () => {
    const dest = await createPullDestination(api, key, { stream_origins: ['https://wallboard.example.com'] });
    const { token } = await tokenFor(dest.id);
    const listed = await api.call('GET', `/v1/destinations/${dest.id}/messages?token=${token}`, { headers: { origin: 'https://wallboard.example.com' } });
    assert.equal(listed.headers.get('access-control-allow-origin'), 'https://wallboard.example.com');
    const other = await api.call('GET', `/v1/destinations/${dest.id}/messages?token=${token}`, { headers: { origin: 'https://evil.example.com' } });
    assert.equal(other.status, 200);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    // A preflight (fetch with an Authorization header) is answered for the listed origin only.
    const preflight = (origin: string) =>
      api.call('OPTIONS', `/v1/destinations/${dest.id}/stream`, { headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    assert.equal((await preflight('https://wallboard.example.com')).headers.get('access-control-allow-origin'), 'https://wallboard.example.com');
    assert.equal((await preflight('https://evil.example.com')).headers.get('access-control-allow-origin'), null);
    // The API's other routes send none.
    const elsewhere = await api.call('GET', `/v1/destinations/${dest.id}`, { token: key, headers: { origin: 'https://wallboard.example.com' } });
    assert.equal(elsewhere.headers.get('access-control-allow-origin'), null);
  });

  test('a cursor retention has passed answers 410 cursor_expired with the oldest cursor to resume after', async () => {
    const dest = await createPullDestination(api, key);
    for (const n of [1, 2, 3]) await append(dest.id, n);
    // Retention is 72 h by default: as seen 73 h from now, every message is past it.
    const removed = await api.core.store.messages.prune(Date.now() + 73 * 3_600_000, api.config.VOICEOI_STREAM_RETENTION_HOURS);
    assert.ok(removed >= 3);
    await append(dest.id, 4);
    const expired = await api.call('GET', `/v1/destinations/${dest.id}/messages?after=1`, { token: key });
    assert.equal(expired.status, 410);
    assert.equal(expired.body.code, 'cursor_expired');
    assert.equal(expired.body.oldest_cursor, '3');
    const resumed = await api.call('GET', `/v1/destinations/${dest.id}/messages?after=${expired.body.oldest_cursor}`, { token: key });
    assert.deepEqual(resumed.body.items.map((m: { event_id: string }) => m.event_id), ['evt_4']);
    // From the start: the oldest message kept.
    const all = await api.call('GET', `/v1/destinations/${dest.id}/messages`, { token: key });
    assert.deepEqual(all.body.items.map((m: { cursor: string }) => m.cursor), ['4']);
  });
});
