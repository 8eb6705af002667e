import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { callCompleted } from '../support/events.ts';
import { createDestination } from '../support/resources.ts';

const tag = () => randomBytes(4).toString('hex');
const voiceDetected = (id: string, callId: string, leadId?: string) => ({
  id,
  type: 'voice_detected' as const,
  occurred_at: '2026-11-27T10:00:00Z',
  data: { call_id: callId, ...(leadId ? { lead_id: leadId } : {}), channel: 'caller', at_s: 1.2 },
});

describe('GET /v1/deliveries (visibility listing)', () => {
  let stack: Stack;
  let ok: Receiver;
  let refusing: Receiver;
  let a: string;
  let b: string;
  let destOk: string;
  let destBad: string;
  let destB: string;
  const run = tag();
  const lead1 = `lead-${run}-1`;
  const lead2 = `lead-${run}-2`;
  const call1 = `call-${run}-1`;
  const call2 = `call-${run}-2`;
  const ids: Record<string, string[]> = {};

  const list = async (token: string, qs: string) => {
    const r = await stack.call('GET', `/v1/deliveries?${qs}`, { token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body as { items: { id: string; status: string; event_type: string; call_id: string; lead_id: string | null; destination_id: string; closed_at: string | null }[]; next_cursor: string | null };
  };
  const idsOf = (items: { id: string }[]) => items.map((i) => i.id).sort();

  before(async () => {
    stack = await startStack();
    ok = await startReceiver(() => ({ status: 200 }));
    refusing = await startReceiver(() => ({ status: 400, body: 'unknown lead' }));
    a = (await stack.createAccount('A')).api_key;
    b = (await stack.createAccount('B')).api_key;
    const mk = async (token: string, url: string) => (await createDestination(stack, token, { url, event_types: ['*'], retry_schedule_s: [0] })).id;
    destOk = await mk(a, ok.url);
    destBad = await mk(a, refusing.url);
    destB = await mk(b, ok.url);
    const send = async (token: string, name: string, body: unknown) => {
      const r = await stack.call('POST', '/v1/events', { token, body });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      ids[name] = r.body.deliveries.map((d: { id: string }) => d.id);
    };
    // Account A: two events of lead 1 (two calls), one of lead 2, one without a lead. Each goes to
    // both of A's destinations: one delivers, one refuses (400, not retried: failed).
    await send(a, 'e1', callCompleted(`e1-${run}`, { call_id: call1, lead_id: lead1 }));
    await send(a, 'e2', voiceDetected(`e2-${run}`, call2, lead1));
    await send(a, 'e3', callCompleted(`e3-${run}`, { call_id: `call-${run}-3`, lead_id: lead2 }));
    await send(a, 'e4', voiceDetected(`e4-${run}`, call1));
    // Account B uses the same lead and call ids: they must never show up for A (nor A's for B).
    await send(b, 'b1', callCompleted(`b1-${run}`, { call_id: call1, lead_id: lead1 }));
    // Final and closed: a run reads final a moment before it closes, and a run that closes moves in the
    // listing's order, which a cursor walk over it would see.
    await eventually(async () => (await list(a, `since=${new Date(Date.now() - 600_000).toISOString()}`)).items.every((i) => (i.status === 'delivered' || i.status === 'failed') && i.closed_at !== null) &&
      (await list(a, 'limit=100')).items.length === 8, 'A’s 8 deliveries final, closed and visible');
    await eventually(async () => (await list(b, 'status=delivered')).items.length === 1, 'B’s delivery visible');
  });
  after(async () => {
    await stack.stop();
    await ok.close();
    await refusing.close();
  });

  test('filters by lead id, call id, status, event type and destination find exactly the matching deliveries', async () => {
    assert.deepEqual(idsOf((await list(a, `lead_id=${lead1}`)).items), [...ids.e1!, ...ids.e2!].sort());
    assert.deepEqual(idsOf((await list(a, `call_id=${call1}`)).items), [...ids.e1!, ...ids.e4!].sort());
    const failed = (await list(a, 'status=failed')).items;
    assert.equal(failed.length, 4);
    assert.ok(failed.every((i) => i.destination_id === destBad && i.status === 'failed'));
    assert.deepEqual(idsOf((await list(a, 'event_type=voice_detected')).items), [...ids.e2!, ...ids.e4!].sort());
    assert.deepEqual(idsOf((await list(a, `destination_id=${destOk}&lead_id=${lead1}`)).items), [`delivery:${destOk}:e1-${run}`, `delivery:${destOk}:e2-${run}`].sort());
    const combined = (await list(a, `lead_id=${lead1}&status=delivered&event_type=call_completed`)).items;
    assert.equal(combined.length, 1);
    assert.equal(combined[0]!.id, `delivery:${destOk}:e1-${run}`);
    assert.equal(combined[0]!.call_id, call1);
    assert.equal(combined[0]!.lead_id, lead1);
    assert.equal((await list(a, `lead_id=${lead2}&status=failed`)).items[0]!.id, `delivery:${destBad}:e3-${run}`);
    assert.deepEqual((await list(a, `since=${new Date(Date.now() + 3_600_000).toISOString()}`)).items, []);
  });

  test('an account never sees another account’s deliveries', async () => {
    const bItems = (await list(b, `lead_id=${lead1}`)).items;
    assert.deepEqual(idsOf(bItems), ids.b1);
    assert.deepEqual(idsOf((await list(a, `lead_id=${lead1}&destination_id=${destB}`)).items), []);
    assert.ok(!idsOf((await list(a, 'limit=100')).items).some((id) => id.includes(destB)));
    const other = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(ids.b1![0]!)}`, { token: a });
    assert.equal(other.status, 404);
    assert.equal(other.body.code, 'delivery_not_found');
    assert.equal((await stack.call('POST', `/v1/deliveries/${encodeURIComponent(ids.b1![0]!)}/retry`, { token: a })).status, 404);
    assert.equal((await stack.call('POST', `/v1/deliveries/${encodeURIComponent(ids.b1![0]!)}/cancel`, { token: a })).status, 404);
  });

  test('cursor pagination walks every delivery exactly once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await list(a, `limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.ok(page.items.length <= 3);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(seen.length, 8);
    assert.equal(new Set(seen).size, 8);
    assert.deepEqual(seen.sort(), Object.entries(ids).filter(([k]) => k.startsWith('e')).flatMap(([, v]) => v).sort());

    const first = await list(a, 'limit=2');
    const reused = await stack.call('GET', `/v1/deliveries?limit=2&status=failed&cursor=${encodeURIComponent(first.next_cursor!)}`, { token: a });
    assert.equal(reused.status, 400);
    assert.equal(reused.body.code, 'invalid_cursor');
    // B replaying A's cursor gets B's listing rules (its own account), not A's rows.
    const stolen = await stack.call('GET', `/v1/deliveries?limit=2&cursor=${encodeURIComponent(first.next_cursor!)}`, { token: b });
    assert.equal(stolen.status, 400);
  });

  test('a forged cursor (the right query tag, a junk page token) is refused at once with 400 invalid_cursor', async () => {
    const first = await list(a, 'limit=2');
    const [body, ...rest] = first.next_cursor!.split('.');
    const forge = (t: string) => [Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body!, 'base64url').toString()), t })).toString('base64url'), ...rest].join('.');
    for (const cursor of [forge(Buffer.from('junk page token').toString('base64')), forge(''), `${body}.AAAA`, 'e30']) {
      const started = Date.now();
      const r = await stack.call('GET', `/v1/deliveries?limit=2&cursor=${encodeURIComponent(cursor)}`, { token: a });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.code, 'invalid_cursor');
      assert.match(r.body.message, /not a cursor returned by this API/);
      assert.ok(Date.now() - started < 1000, `answered in ${Date.now() - started} ms`);
    }
  });

  test('filter values cannot inject into the visibility query', async () => {
    for (const [field, value] of [
      ['call_id', `x' OR VoiceoiAccount != '`],
      ['lead_id', `${lead1}' OR '1'='1`],
      ['destination_id', `${destB}\\`],
      ['call_id', 'a"b'],
    ]) {
      const r = await stack.call('GET', `/v1/deliveries?${field}=${encodeURIComponent(value!)}`, { token: a });
      assert.equal(r.status, 400, `${field}=${value}`);
      assert.equal(r.body.code, 'invalid_filter');
      assert.match(r.body.message, new RegExp(`^${field}:`));
    }
    const badStatus = await stack.call('GET', '/v1/deliveries?status=delivered%27%20OR%20%271', { token: a });
    assert.equal(badStatus.status, 400);
    assert.equal(badStatus.body.code, 'validation_error');
    const badSince = await stack.call('GET', '/v1/deliveries?since=yesterday', { token: a });
    assert.equal(badSince.status, 400);
  });

  test('GET /v1/deliveries/:id has the full attempt log', async () => {
    const r = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(`delivery:${destBad}:e1-${run}`)}`, { token: a });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'failed');
    assert.equal(r.body.attempts.length, 1);
    const attempt = r.body.attempts[0];
    assert.equal(attempt.n, 1);
    assert.equal(attempt.request.method, 'POST');
    assert.equal(attempt.request.headers['webhook-id'], `e1-${run}`);
    assert.equal(attempt.response.status, 400);
    assert.equal(attempt.response.body, 'unknown lead');
    assert.equal(attempt.response.body_truncated, false);
  });
});
