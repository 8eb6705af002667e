import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Payload } from '@temporalio/common';
import type proto from '@temporalio/proto';
import { ensureTemporalCli } from '../../src/temporal/cli.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { createDestination } from '../support/resources.ts';
import { createPullDestination } from '../support/streams.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';

const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString();
const b64 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('base64');
const payloadJSON = (p: Payload) => ({ metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])), data: b64(p.data) });

/** Every payload anywhere in a raw history: inputs, results, markers, search attributes, memo. */
const payloadsIn = (node: unknown, out: Payload[] = []): Payload[] => {
  if (!node || typeof node !== 'object' || node instanceof Uint8Array) return out;
  const o = node as Record<string, unknown>;
  if (o.data instanceof Uint8Array && o.metadata && typeof o.metadata === 'object') out.push(o as Payload);
  for (const v of Object.values(o)) payloadsIn(v, out);
  return out;
};

describe('erasing a call (crypto-shredding), on PostgreSQL with a real dev server', () => {
  let stack: Stack;
  let ok: Receiver;
  let failing: Receiver;
  let key: string;
  const phone = `+1-555-${randomBytes(4).toString('hex')}`;
  const secret = `caller said: my number is ${phone}`;
  const callId = `call-${randomBytes(4).toString('hex')}`;
  const otherCall = `call-${randomBytes(4).toString('hex')}`;
  let delivered: string;
  let retrying: string;
  let otherDelivered: string;
  let firstEventId: string;

  before(async () => {
    stack = await startStack({}, { database: 'postgres' });
    ok = await startReceiver(() => ({ status: 200, body: `{"crm_note":"${secret}"}` }));
    failing = await startReceiver(() => ({ status: 503 }));
    key = (await stack.createAccount()).api_key;
    await createDestination(stack, key, { url: ok.url, event_types: ['call_completed'] });
    // Retries every 2 s: some would come after the erasure if it did not stop them.
    await createDestination(stack, key, { url: failing.url, event_types: ['call_completed'], retry_schedule_s: [2, 2, 2, 2, 2, 2, 2, 2, 2, 2] });
    const ingest = async (id: string, call: string) => {
      const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(id, { call_id: call, summary: secret }) });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      return r.body.deliveries as { id: string; destination_id: string }[];
    };
    firstEventId = `evt_${randomBytes(4).toString('hex')}`;
    const mine = await ingest(firstEventId, callId);
    const theirs = await ingest(`evt_${randomBytes(4).toString('hex')}`, otherCall);
    const okDest = (await stack.call('GET', '/v1/destinations', { token: key })).body.items.find((d: { url: string }) => d.url === ok.url).id;
    delivered = mine.find((d) => d.destination_id === okDest)!.id;
    retrying = mine.find((d) => d.destination_id !== okDest)!.id;
    otherDelivered = theirs.find((d) => d.destination_id === okDest)!.id;
    await settled(stack, key, delivered);
    await settled(stack, key, otherDelivered);
    await eventually(async () => {
      const r = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(retrying)}`, { token: key });
      // Its second attempt is an activity (the first runs as a local one).
      return r.body.attempts?.length >= 2 && r.body.status === 'pending';
    }, 'the failing delivery to be retrying');
  });
  after(async () => {
    await stack.stop();
    await ok.close();
    await failing.close();
  });

  /** Straight from the frontend, every page: no data converter, no codec. */
  const rawHistory = async (workflowId: string, runId?: string): Promise<proto.temporal.api.history.v1.IHistory> => {
    const events: proto.temporal.api.history.v1.IHistoryEvent[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const res = await stack.connection.workflowService.getWorkflowExecutionHistory({ namespace: stack.target.namespace, execution: { workflowId, runId }, nextPageToken });
      events.push(...(res.history?.events ?? []));
      nextPageToken = res.nextPageToken?.length ? res.nextPageToken : undefined;
    } while (nextPageToken);
    return { events };
  };
  /** Every run of the delivery (a retrying one continues as new after a few attempts), from visibility. */
  const allRuns = async (workflowId: string) => {
    const runs: proto.temporal.api.history.v1.IHistory[] = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(await rawHistory(workflowId, run.runId));
    return { events: runs.flatMap((h) => h.events ?? []) };
  };
  const decode = (payloads: Payload[]) => stack.call('POST', '/codec/decode', { token: stack.adminToken, body: { payloads: payloads.map(payloadJSON) } });

  test('every payload of a call\'s delivery history is encrypted under the call\'s key, not the master key', async () => {
    const keyIds = new Set<string>();
    for (const id of [delivered, retrying]) {
      const history = await allRuns(id);
      const payloads = payloadsIn(history);
      const encrypted = payloads.filter((p) => text(p.metadata?.encoding) === 'binary/encrypted');
      // The start input, the local first attempt's marker, then the workflow result (delivered), or
      // later attempts' activity inputs and results and the continue-as-new input (retrying).
      assert.ok(encrypted.length >= 3, `${id}: ${encrypted.length} encrypted payloads`);
      if (id === retrying) {
        assert.ok(history.events!.some((e) => e.activityTaskCompletedEventAttributes?.result), 'the retrying one ran an attempt as an activity');
        assert.ok(history.events!.some((e) => e.workflowExecutionContinuedAsNewEventAttributes?.input), 'and continued as new');
      }
      for (const p of encrypted) {
        assert.equal(p.metadata?.['encryption-key-id'], undefined, `${id}: a payload is under the master key`);
        keyIds.add(text(p.metadata?.['encryption-call-key-id']));
      }
      // Nothing else holds data: the rest are the server's own (search attributes, marker headers).
      const plain = payloads.filter((p) => text(p.metadata?.encoding) !== 'binary/encrypted');
      for (const p of plain) assert.ok(!text(p.data).includes(phone), `${id}: a plaintext payload holds event data`);
    }
    assert.equal(keyIds.size, 1, 'both deliveries of the call share its one key');
    const [keyId] = keyIds;
    assert.match(keyId!, /^ck_/);
    const other = payloadsIn(await rawHistory(otherDelivered)).filter((p) => text(p.metadata?.encoding) === 'binary/encrypted');
    assert.ok(other.every((p) => text(p.metadata?.['encryption-call-key-id']) !== keyId), 'another call has its own key');
  });

  test('POST /v1/calls/:call_id/erase stops the retrying delivery, keeps a summary without data, and the history no longer decrypts', async () => {
    const start = payloadsIn(await rawHistory(delivered)).filter((p) => text(p.metadata?.encoding) === 'binary/encrypted');
    const before = await decode(start);
    assert.equal(before.status, 200);
    assert.ok(JSON.stringify(before.body.payloads.map((p: { data: string }) => Buffer.from(p.data, 'base64').toString())).includes(secret), 'readable before');

    const other = (await stack.createAccount('Other BPO')).api_key;
    assert.equal((await stack.call('POST', `/v1/calls/${callId}/erase?account_id=nope`, { token: key })).status, 404);

    const ofCall = () => failing.requests.filter((r) => r.body.includes(callId)).length;
    const erased = await stack.call('POST', `/v1/calls/${callId}/erase`, { token: key });
    const seenAtAnswer = ofCall();
    assert.equal(erased.status, 202, JSON.stringify(erased.body));
    assert.equal(erased.body.call_id, callId);
    assert.equal(erased.body.deliveries, 2);
    assert.equal(erased.body.cancelled, 1);
    assert.ok(Date.parse(erased.body.erased_at) <= Date.now());

    // The retry schedule (2 s) would have sent at least two more by now.
    await new Promise((r) => setTimeout(r, 5000));
    assert.ok(failing.requests.length > seenAtAnswer, 'the other call\'s delivery is still retried');
    assert.equal(ofCall(), seenAtAnswer, 'nothing of the call is sent after the erasure answered');

    const view = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(delivered)}`, { token: key });
    assert.equal(view.status, 200);
    assert.equal(view.body.erased, true);
    assert.equal(view.body.status, 'delivered');
    assert.equal(view.body.attempts[0].status, 200);
    assert.equal(typeof view.body.attempts[0].started_at, 'string');
    assert.equal(typeof view.body.attempts[0].duration_ms, 'number');
    const json = JSON.stringify(view.body);
    assert.ok(!json.includes(secret) && !json.includes('crm_note') && !json.includes('"request"') && !json.includes('headers'), json);

    const stopped = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(retrying)}`, { token: key });
    assert.equal(stopped.body.erased, true);
    assert.equal(stopped.body.status, 'cancelled');
    assert.equal(stopped.body.reason, 'erased');
    assert.ok(stopped.body.attempts.length >= 1);
    assert.ok(stopped.body.attempts.every((a: { status?: number }) => a.status === 503));

    const event = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(delivered)}/event`, { token: key });
    assert.equal(event.status, 410);
    assert.equal(event.body.code, 'erased');
    assert.equal((await stack.call('GET', `/v1/deliveries/${encodeURIComponent(delivered)}/event`, { token: other })).status, 404, 'another account learns nothing');
    assert.equal((await stack.call('POST', `/v1/deliveries/${encodeURIComponent(delivered)}/retry`, { token: key })).status, 410);

    // The listing (from visibility) says how they ended too.
    const listed = await stack.call('GET', `/v1/deliveries?call_id=${callId}`, { token: key });
    assert.deepEqual(
      listed.body.items.map((i: { id: string; status: string; erased?: boolean }) => [i.id, i.status, i.erased]).sort(),
      [[delivered, 'delivered', true], [retrying, 'cancelled', true]].sort(),
    );

    const call = await stack.call('GET', `/v1/calls/${callId}`, { token: key });
    assert.equal(call.status, 200);
    assert.deepEqual(call.body, { call_id: callId, erased_at: erased.body.erased_at, erased_by: 'account', deliveries: [delivered, retrying].sort() });
    assert.equal((await stack.call('GET', `/v1/calls/${callId}`, { token: other })).status, 404);

    // The codec endpoint: the payloads read as erased placeholders, not as an error.
    const after = await decode(start);
    assert.equal(after.status, 200, JSON.stringify(after.body));
    for (const p of after.body.payloads as { data: string }[]) {
      const body = JSON.parse(Buffer.from(p.data, 'base64').toString());
      assert.equal(body.erased, true);
    }
    // Another call of the same account still decodes.
    const stillThere = await decode(payloadsIn(await rawHistory(otherDelivered)).filter((p) => text(p.metadata?.encoding) === 'binary/encrypted'));
    assert.ok(JSON.stringify(stillThere.body.payloads.map((p: { data: string }) => Buffer.from(p.data, 'base64').toString())).includes(secret));

    // The wrapped key is gone from the control plane, and no table holds the call's data.
    const { db } = stack.core.store;
    assert.deepEqual(await db.selectFrom('call_keys').select('id').where('call_id', '=', callId).execute(), []);
    for (const table of await db.introspection.getTables()) {
      const rows = await db.selectFrom(table.name as 'accounts').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(phone), `${table.name} holds the call's data`);
    }
  });

  test('the temporal CLI, through the codec with the admin token, shows the erased call\'s input as erased and another call\'s in clear', async () => {
    const cli = await ensureTemporalCli(() => undefined);
    const input = async (workflowId: string) => {
      const { stdout } = await promisify(execFile)(
        cli,
        ['workflow', 'show', '--address', stack.target.address, '--namespace', stack.target.namespace, '--workflow-id', workflowId, '--output', 'json', '--codec-endpoint', `${stack.url}/codec`, '--codec-auth', `Bearer ${stack.adminToken}`],
        { maxBuffer: 32 * 1024 * 1024 },
      );
      const p = JSON.parse(stdout).events[0].workflowExecutionStartedEventAttributes.input.payloads[0];
      return Buffer.from(p.data ?? '', 'base64').toString();
    };
    const erased = JSON.parse(await input(delivered));
    assert.equal(erased.erased, true);
    assert.ok(!JSON.stringify(erased).includes(secret));
    assert.equal(JSON.parse(await input(otherDelivered)).event.data.summary, secret);
  });

  test('the erased event sent again is a duplicate: the same answer, nothing started or sent', async () => {
    const ofCall = () => [...ok.requests, ...failing.requests].filter((r) => r.body.includes(callId)).length;
    const sent = ofCall();
    const again = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(firstEventId, { call_id: callId, summary: secret }) });
    assert.equal(again.status, 202, JSON.stringify(again.body));
    assert.deepEqual(again.body.deliveries.map((d: { id: string }) => d.id).sort(), [delivered, retrying].sort());
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(ofCall(), sent);
    assert.equal((await stack.call('GET', `/v1/deliveries/${encodeURIComponent(delivered)}`, { token: key })).body.erased, true);
  });

  test('a later event of the same call gets a new key and is delivered and readable', async () => {
    const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_${randomBytes(4).toString('hex')}`, { call_id: callId, summary: secret }) });
    assert.equal(r.status, 202);
    const id = (r.body.deliveries as { id: string }[]).find((d) => d.id !== delivered && ok.url && d.id.includes(delivered.split(':')[1]!))!.id;
    const view = await settled<{ status: string; erased?: boolean }>(stack, key, id);
    assert.equal(view.status, 'delivered');
    assert.equal(view.erased, undefined);
    const event = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}/event`, { token: key });
    assert.equal(event.body.data.summary, secret);
    const call = await stack.call('GET', `/v1/calls/${callId}`, { token: key });
    assert.equal(call.body.deliveries.length, 4);
  });

  test("a pull destination's messages are sealed under their call's key, and erasing the call removes its messages only", async () => {
    // An account of its own: only the pull destination gets these events.
    const pullKey = (await stack.createAccount('Wallboard BPO')).api_key;
    const dest = await createPullDestination(stack, pullKey);
    const callX = `call-${randomBytes(4).toString('hex')}`;
    const callY = `call-${randomBytes(4).toString('hex')}`;
    const ingest = async (call: string) => {
      const r = await stack.call('POST', '/v1/events', { token: pullKey, body: callCompleted(`evt_${randomBytes(4).toString('hex')}`, { call_id: call, summary: secret }) });
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const [d] = r.body.deliveries as { id: string }[];
      assert.equal((await settled(stack, pullKey, d!.id)).status, 'delivered');
      return d!.id;
    };
    const x = await ingest(callX);
    const y = await ingest(callY);
    const messages = async () => {
      const r = await stack.call('GET', `/v1/destinations/${dest.id}/messages`, { token: pullKey });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body as { items: { delivery_id: string; cursor: string; body: string }[]; next_cursor: string };
    };
    const before = await messages();
    assert.deepEqual(before.items.map((m) => m.delivery_id), [x, y]);
    assert.ok(before.items.every((m) => m.body.includes(phone)), 'served opened');

    const { db } = stack.core.store;
    const stored = await db.selectFrom('stream_messages').selectAll().where('delivery_id', '=', x).executeTakeFirstOrThrow();
    assert.ok(!stored.body.includes(phone) && !stored.body.includes('call_completed'), 'stored sealed, not in clear');
    assert.equal(stored.body.startsWith('v1.ck_'), true, stored.body.slice(0, 40));

    const erased = await stack.call('POST', `/v1/calls/${callX}/erase`, { token: pullKey });
    assert.equal(erased.status, 202, JSON.stringify(erased.body));
    assert.equal(erased.body.deliveries, 1);

    const afterErasure = await messages();
    assert.deepEqual(afterErasure.items.map((m) => m.delivery_id), [y]);
    assert.equal(afterErasure.items[0]!.cursor, before.items[1]!.cursor, 'the other call keeps its place in the stream');
    assert.equal(afterErasure.next_cursor, before.next_cursor);
    assert.deepEqual(await db.selectFrom('stream_messages').select('seq').where('delivery_id', '=', x).execute(), []);
    assert.deepEqual(await db.selectFrom('stream_messages').select('delivery_id').where('call_id', '=', callX).execute(), []);
  });
});
