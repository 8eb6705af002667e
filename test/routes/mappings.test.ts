import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startDeliveryStack, type DeliveryStack } from '../support/delivery-stack.ts';
import type { Receiver } from '../support/receiver.ts';
import { createDestination, createMapping } from '../support/resources.ts';
import { settled } from '../support/stack.ts';
import { callCompleted } from '../support/events.ts';

const example = (name: string) => readFileSync(new URL(`../../sandboxes/examples/${name}`, import.meta.url), 'utf8');

describe('mappings: upload, versions, test runs, and the transform step of deliveries', () => {
  let stack: DeliveryStack;
  let receiver: Receiver;
  let key: string;
  before(async () => {
    stack = await startDeliveryStack();
    ({ receiver, account: { api_key: key } } = stack);
  });
  after(() => stack.stop());

  const finalState = (id: string) => settled<any>(stack, key, id);

  test('a JSONata syntax error is refused at upload with its line and column', async () => {
    const r = await stack.call('POST', '/v1/mappings', { token: key, body: { name: 'broken', language: 'jsonata', source: '{\n  "lead": data.lead_id,\n  "x": (1 + \n}' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'syntax_error');
    assert.equal(typeof r.body.line, 'number');
    assert.equal(typeof r.body.column, 'number');
    assert.ok(r.body.line >= 3, JSON.stringify(r.body));
  });

  test('a TypeScript type error against the event types is refused at upload with its position', async () => {
    const source = [
      "import type { VoiceOIEvent, TransformResult } from 'voiceoi';",
      'export default function transform(event: VoiceOIEvent): TransformResult {',
      "  if (event.type !== 'call_completed') return null;",
      '  return { body: { minutes: event.data.duration_minutes } };',
      '}',
    ].join('\n');
    const r = await stack.call('POST', '/v1/mappings', { token: key, body: { name: 'typo', language: 'typescript', source } });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'type_error');
    assert.equal(r.body.line, 4);
    assert.match(r.body.message, /duration_minutes/);
  });

  test('a TypeScript mapping without a default export is refused', async () => {
    const r = await stack.call('POST', '/v1/mappings', { token: key, body: { name: 'nodefault', language: 'typescript', source: 'export const x = 1;' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'missing_default_export');
  });

  test('PUT adds a version; versions are listed and each keeps its source', async () => {
    const created = await stack.call('POST', '/v1/mappings', { token: key, body: { name: 'v', language: 'jsonata', source: '{"v": 1}' } });
    assert.equal(created.status, 201);
    assert.equal(created.body.version, 1);
    const put = await stack.call('PUT', `/v1/mappings/${created.body.id}`, { token: key, body: { source: '{"v": 2}' } });
    assert.equal(put.status, 200);
    assert.equal(put.body.version, 2);
    const versions = await stack.call('GET', `/v1/mappings/${created.body.id}/versions`, { token: key });
    assert.deepEqual(versions.body.items.map((v: any) => v.version), [2, 1]);
    for (const [version, source] of [[1, '{"v": 1}'], [2, '{"v": 2}']] as const) {
      assert.equal((await stack.call('GET', `/v1/mappings/${created.body.id}/versions/${version}`, { token: key })).body.source, source);
    }
    const badPut = await stack.call('PUT', `/v1/mappings/${created.body.id}`, { token: key, body: { source: '{"v": ' } });
    assert.equal(badPut.status, 400);
    assert.equal((await stack.call('GET', `/v1/mappings/${created.body.id}`, { token: key })).body.version, 2, 'a refused upload adds no version');
    const other = (await stack.createAccount('other')).api_key;
    assert.equal((await stack.call('GET', `/v1/mappings/${created.body.id}`, { token: other })).status, 404);
    assert.equal((await stack.call('PUT', `/v1/mappings/${created.body.id}`, { token: other, body: { source: '1' } })).status, 404);
  });

  test('POST /v1/mappings/test runs source against a sample event: result, logs, time; null when skipped', async () => {
    const r = await stack.call('POST', '/v1/mappings/test', { token: key, body: { language: 'typescript', source: example('product-page.ts'), event: callCompleted('evt_t1') } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.result, { method: 'POST', body: { event: 'call_completed', lead_id: '884' } });
    assert.deepEqual(r.body.logs, ['call completed for lead 884']);
    assert.equal(typeof r.body.duration_ms, 'number');
    const skip = await stack.call('POST', '/v1/mappings/test', { token: key, body: { language: 'jsonata', source: example('filter-short-calls.jsonata'), event: callCompleted('evt_t2', { duration_s: 12 }) } });
    assert.equal(skip.status, 200);
    assert.equal(skip.body.result, null);
  });

  test('a script that throws fails its test run with 422 and the line of the throw', async () => {
    const source = "import type { TransformResult } from 'voiceoi';\nexport default function transform(): TransformResult {\n  throw new Error('CRM field missing');\n}";
    const r = await stack.call('POST', '/v1/mappings/test', { token: key, body: { language: 'typescript', source, event: callCompleted('evt_t3') } });
    assert.equal(r.status, 422);
    assert.equal(r.body.code, 'script_error');
    assert.match(r.body.message, /CRM field missing/);
    assert.equal(r.body.line, 3);
  });

  test('a destination with a TypeScript mapping receives the transformed request, and the delivery pins the version', async () => {
    const m = await createMapping(stack, key, { name: 'salesforce', language: 'typescript', source: example('salesforce-lead-update.ts') });
    const d = await createDestination(stack, key, { url: `${receiver.url}/sf`, mapping_id: m.id });
    const before = receiver.requests.length;
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_sf', { disposition: 'sale' }) });
    const mine = res.body.deliveries.find((x: any) => x.destination_id === d.id);
    const state = await finalState(mine.id);
    assert.equal(state.status, 'delivered');
    assert.equal(state.mapping_version, 1);
    assert.equal(state.mapping_id, m.id);
    // The transform's output is part of the delivery's record, as the console's detail view shows it.
    assert.equal(state.transform.request.method, 'PATCH');
    assert.equal(state.transform.request.path, '/services/data/v60.0/sobjects/Lead/884');
    const req = receiver.requests.slice(before).find((r) => r.headers['webhook-id'] === 'evt_sf')!;
    assert.equal(req.method, 'PATCH');
    assert.equal(req.url, '/sf/services/data/v60.0/sobjects/Lead/884');
    assert.equal(JSON.parse(req.body).Status, 'Closed - Converted');

    // A new version applies to new events only; the recorded delivery still names version 1.
    await stack.call('PUT', `/v1/mappings/${m.id}`, { token: key, body: { source: example('product-page.ts') } });
    const res2 = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_sf2') });
    const state2 = await finalState(res2.body.deliveries.find((x: any) => x.destination_id === d.id).id);
    assert.equal(state2.mapping_version, 2);
    assert.equal((await finalState(mine.id)).mapping_version, 1);
    await stack.call('DELETE', `/v1/destinations/${d.id}`, { token: key });
  });

  test('a JSONata filter skips short calls: status skipped, nothing sent', async () => {
    const m = await createMapping(stack, key, { name: 'filter', source: example('filter-short-calls.jsonata') });
    const d = await createDestination(stack, key, { url: `${receiver.url}/dialer`, mapping_id: m.id });
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_short', { duration_s: 8 }) });
    const state = await finalState(res.body.deliveries.find((x: any) => x.destination_id === d.id).id);
    assert.equal(state.status, 'skipped');
    assert.equal(state.attempts.length, 0);
    assert.ok(!receiver.requests.some((r) => r.url === '/dialer' && r.headers['webhook-id'] === 'evt_short'));
    await stack.call('DELETE', `/v1/destinations/${d.id}`, { token: key });
  });

  test('an endless loop fails only its own delivery with a recorded timeout; the next delivery still flows', async () => {
    const loop = await createMapping(stack, key, { name: 'loop', language: 'typescript', source: "import type { TransformResult } from 'voiceoi';\nexport default function transform(): TransformResult { while (true) {} }" });
    const bad = await createDestination(stack, key, { url: `${receiver.url}/loop`, mapping_id: loop.id });
    const good = await createDestination(stack, key, { url: `${receiver.url}/good` });
    const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_loop') });
    const badState = await finalState(res.body.deliveries.find((x: any) => x.destination_id === bad.id).id);
    assert.equal(badState.status, 'failed');
    assert.match(badState.reason, /transform failed/);
    assert.equal(badState.attempts.length, 0);
    const goodState = await finalState(res.body.deliveries.find((x: any) => x.destination_id === good.id).id);
    assert.equal(goodState.status, 'delivered');
  });

  test('a destination cannot name another account’s mapping', async () => {
    const m = await createMapping(stack, key, { name: 'mine', source: '$' });
    const other = (await stack.createAccount('other2')).api_key;
    const r = await stack.call('POST', '/v1/destinations', { token: other, body: { url: `${receiver.url}/x`, event_types: ['*'], mapping_id: m.id } });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'mapping_not_found');
  });
});
