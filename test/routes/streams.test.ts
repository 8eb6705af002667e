import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { callCompleted } from '../support/events.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';
import { createPullDestination, openStream } from '../support/streams.ts';

// Pull destinations end to end: the real worker appends each delivery to the destination's stream,
// read back over real HTTP through the messages endpoint and the live stream (SSE).

describe('pull destinations and live streams', () => {
  let stack: Stack;
  let key: string;
  before(async () => {
    stack = await startStack({ VOICEOI_STREAM_HEARTBEAT_S: '0.5', VOICEOI_STREAMS_PER_ACCOUNT: '3' });
    key = (await stack.createAccount()).api_key;
  });
  after(() => stack.stop());

  /** Ingests an event; the answer is its delivery to `destinationId` (every pull destination here subscribes to call_completed). */
  const ingest = async (id: string, destinationId?: string) => {
    const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(id) });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return (r.body.deliveries as { id: string; destination_id: string }[]).find((d) => d.destination_id === destinationId);
  };
  const auth = () => ({ authorization: `Bearer ${key}` });

  test('a pull destination has no url; push needs one, pull refuses one', async () => {
    const pull = await createPullDestination(stack, key, { stream_origins: ['https://wallboard.example.com'] });
    assert.equal(pull.mode, 'pull');
    assert.equal('url' in pull, false);
    assert.deepEqual(pull.stream_origins, ['https://wallboard.example.com']);
    const noUrl = await stack.call('POST', '/v1/destinations', { token: key, body: { event_types: ['call_completed'] } });
    assert.equal(noUrl.status, 400);
    assert.match(noUrl.body.message, /url/);
    const pullWithUrl = await stack.call('POST', '/v1/destinations', { token: key, body: { mode: 'pull', url: 'https://crm.example.com/hook', event_types: ['call_completed'] } });
    assert.equal(pullWithUrl.status, 400);
    const badOrigin = await stack.call('POST', '/v1/destinations', { token: key, body: { mode: 'pull', event_types: ['call_completed'], stream_origins: ['https://a.example.com/path'] } });
    assert.equal(badOrigin.status, 400);
    const patchUrl = await stack.call('PATCH', `/v1/destinations/${pull.id}`, { token: key, body: { url: 'https://crm.example.com/hook' } });
    assert.equal(patchUrl.status, 400);
  });

  test('each delivery becomes one signed message, delivered once it is in the stream; the page and the stream agree', async () => {
    const dest = await createPullDestination(stack, key);
    const delivery = await ingest('evt_pull_1', dest.id);
    assert.equal((await settled(stack, key, delivery!.id)).status, 'delivered');

    const page = await stack.call('GET', `/v1/destinations/${dest.id}/messages`, { token: key });
    assert.equal(page.status, 200);
    assert.equal(page.body.items.length, 1);
    const [m] = page.body.items;
    assert.equal(m.delivery_id, delivery!.id);
    assert.equal(m.event_id, 'evt_pull_1');
    assert.equal(m.event_type, 'call_completed');
    assert.equal(m.call_id, 'call_evt_pull_1');
    assert.equal(page.body.next_cursor, m.cursor);
    // Any Standard Webhooks library verifies the exact body with the destination's secret.
    const verified = new Webhook(dest.signing_secret).verify(m.body, m.headers) as { id: string };
    assert.equal(verified.id, 'evt_pull_1');

    // Nothing after the last cursor; the stream from the start serves the same message and cursor.
    const next = await stack.call('GET', `/v1/destinations/${dest.id}/messages?after=${m.cursor}`, { token: key });
    assert.deepEqual(next.body, { items: [], next_cursor: m.cursor });
    const stream = await openStream(stack.url, `/v1/destinations/${dest.id}/stream?after=0`, auth());
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    const [e] = await stream.take(1);
    stream.close();
    assert.equal(e!.id, m.cursor);
    assert.equal(e!.event, 'call_completed');
    assert.deepEqual(JSON.parse(e!.data!), m);
  });

  test('a stream serves new messages in order; resumed with Last-Event-ID it serves each later one exactly once', async () => {
    const dest = await createPullDestination(stack, key);
    const first = await openStream(stack.url, `/v1/destinations/${dest.id}/stream`, auth());
    for (const n of [1, 2, 3]) await ingest(`evt_order_${n}`);
    // Deliveries run side by side: the stream's order is the order their messages were appended, by cursor.
    const seen = await first.take(3);
    assert.deepEqual(seen.map((e) => JSON.parse(e.data!).event_id).sort(), ['evt_order_1', 'evt_order_2', 'evt_order_3']);
    assert.deepEqual(seen.map((e) => Number(e.id)), [1, 2, 3]);
    first.close();

    // Away while two more arrive: the resumed stream starts right after the last one it saw.
    for (const n of [4, 5]) await ingest(`evt_order_${n}`);
    const resumed = await openStream(stack.url, `/v1/destinations/${dest.id}/stream`, { ...auth(), 'last-event-id': seen[2]!.id! });
    const later = await resumed.take(2);
    assert.deepEqual(later.map((e) => JSON.parse(e.data!).event_id).sort(), ['evt_order_4', 'evt_order_5']);
    assert.deepEqual(later.map((e) => Number(e.id)), [4, 5]);
    // And nothing else, even past a heartbeat.
    await assert.rejects(resumed.take(1, 1500));
    resumed.close();
  });

  test('a long poll answers as soon as a message arrives', async () => {
    const dest = await createPullDestination(stack, key);
    const started = Date.now();
    const polling = stack.call('GET', `/v1/destinations/${dest.id}/messages?wait_s=20`, { token: key });
    await new Promise((r) => setTimeout(r, 300));
    await ingest('evt_longpoll');
    const page = await polling;
    assert.equal(page.status, 200);
    assert.deepEqual(page.body.items.map((m: { event_id: string }) => m.event_id), ['evt_longpoll']);
    assert.ok(Date.now() - started < 15_000, 'answered on the message, not on wait_s');
    // With nothing new it waits out wait_s and answers an empty page with the same cursor.
    const empty = await stack.call('GET', `/v1/destinations/${dest.id}/messages?after=${page.body.next_cursor}&wait_s=0.3`, { token: key });
    assert.deepEqual(empty.body, { items: [], next_cursor: page.body.next_cursor });
  });

  test('acks are recorded and listed on the delivery', async () => {
    const dest = await createPullDestination(stack, key);
    const delivery = await ingest('evt_ack', dest.id);
    await settled(stack, key, delivery!.id);
    const { items } = (await stack.call('GET', `/v1/destinations/${dest.id}/messages`, { token: key })).body;
    const ack = await stack.call('POST', `/v1/destinations/${dest.id}/messages/${items[0].cursor}/ack`, { token: key, body: { status: 200, duration_ms: 12.5, consumer: 'laptop' } });
    assert.equal(ack.status, 204);
    const shown = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(delivery!.id)}`, { token: key });
    assert.equal(shown.body.acks.length, 1);
    assert.deepEqual({ ...shown.body.acks[0], acked_at: undefined }, { cursor: items[0].cursor, status: 200, duration_ms: 12.5, consumer: 'laptop', acked_at: undefined });
    const unknown = await stack.call('POST', `/v1/destinations/${dest.id}/messages/999/ack`, { token: key, body: { status: 200, duration_ms: 1 } });
    assert.equal(unknown.status, 404);
  });

  test('a push destination has no stream; another account never reads one (404)', async () => {
    const push = await stack.call('POST', '/v1/destinations', { token: key, body: { url: 'https://crm.example.com/hook', event_types: ['call_completed'] } });
    const r = await stack.call('GET', `/v1/destinations/${push.body.id}/messages`, { token: key });
    assert.equal(r.status, 409);
    assert.equal(r.body.code, 'destination_not_pull');
    const dest = await createPullDestination(stack, key);
    const other = await stack.createAccount('Other BPO');
    const theirs = await stack.call('GET', `/v1/destinations/${dest.id}/messages`, { token: other.api_key });
    assert.equal(theirs.status, 404);
    const stream = await stack.call('GET', `/v1/destinations/${dest.id}/stream`, { token: other.api_key });
    assert.equal(stream.status, 404);
  });

  test('a cursor that is not one of the stream is refused', async () => {
    const dest = await createPullDestination(stack, key);
    for (const bad of ['abc', '-1', '99']) {
      const r = await stack.call('GET', `/v1/destinations/${dest.id}/messages?after=${bad}`, { token: key });
      assert.equal(r.status, 400, bad);
      assert.equal(r.body.code, 'invalid_cursor');
    }
  });

  test('streams per account are bounded (429), and a closed stream frees its place', async () => {
    const other = await stack.createAccount('Bounded BPO');
    const dest = await createPullDestination(stack, other.api_key);
    const headers = { authorization: `Bearer ${other.api_key}` };
    const open = [];
    for (let i = 0; i < 3; i++) open.push(await openStream(stack.url, `/v1/destinations/${dest.id}/stream`, headers));
    assert.deepEqual(open.map((s) => s.status), [200, 200, 200]);
    const refused = await stack.call('GET', `/v1/destinations/${dest.id}/stream`, { token: other.api_key });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'too_many_streams');
    open.pop()!.close();
    let again;
    for (let i = 0; i < 50; i++) {
      again = await openStream(stack.url, `/v1/destinations/${dest.id}/stream`, headers);
      if (again.status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(again!.status, 200);
    for (const s of [...open, again!]) s.close();
  });

  test('deleting the destination ends its streams', async () => {
    const dest = await createPullDestination(stack, key);
    const stream = await openStream(stack.url, `/v1/destinations/${dest.id}/stream`, auth());
    assert.equal(stream.status, 200);
    assert.equal((await stack.call('DELETE', `/v1/destinations/${dest.id}`, { token: key })).status, 204);
    const [e] = await stream.take(1, 10_000);
    assert.equal(e!.event, 'destination_deleted');
    assert.equal(await stream.ended(), true);
  });
});
