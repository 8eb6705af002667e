// Issue 19, point 6: what one account can make the platform hold or do is bounded, each bound set by
// the operator, with a 409 and a code naming it past the bound; the versions list is paged.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApi, type TestApi } from './support/api.ts';

describe('bounds per account', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi({
      VOICEOI_MAX_DESTINATIONS: '4',
      VOICEOI_MAX_FANOUT: '2',
      VOICEOI_MAX_MAPPINGS: '2',
      VOICEOI_MAX_MAPPING_VERSIONS: '3',
      VOICEOI_MAX_CONNECTIONS: '1',
    });
  });
  after(() => api.stop());

  const destination = (token: string, event_types: string[]) =>
    api.call('POST', '/v1/destinations', { token, body: { url: 'https://crm.example.com/hook', event_types } });

  test('fan-out: a destination that would take an event type past the bound is refused at create and at patch, naming the types', async () => {
    const { api_key: key } = await api.createAccount('Fan-out BPO');
    assert.equal((await destination(key, ['call_completed'])).status, 201);
    assert.equal((await destination(key, ['*'])).status, 201);
    // call_completed now reaches 2 destinations: a third for it (directly or through `*`) is refused.
    for (const types of [['call_completed'], ['*']]) {
      const refused = await destination(key, types);
      assert.equal(refused.status, 409, JSON.stringify(types));
      assert.equal(refused.body.code, 'fanout_limit_reached');
      assert.ok(refused.body.event_types.includes('call_completed'));
      assert.equal(refused.body.limit, 2);
    }
    // An operational event is not in `*`: a destination for it still fits.
    const alerts = await destination(key, ['hook.delivery_failed']);
    assert.equal(alerts.status, 201);
    const moved = await api.call('PATCH', `/v1/destinations/${alerts.body.id}`, { token: key, body: { event_types: ['call_completed'] } });
    assert.equal(moved.status, 409);
    assert.equal(moved.body.code, 'fanout_limit_reached');
    // A destination's own subscription does not count against itself.
    const all = (await api.call('GET', '/v1/destinations', { token: key })).body.items.find((d: { event_types: string[] }) => d.event_types.includes('*'));
    assert.equal((await api.call('PATCH', `/v1/destinations/${all.id}`, { token: key, body: { event_types: ['*'], description: 'same' } })).status, 200);
  });

  test('destinations per account: the next one past the bound is refused; deleting one frees room; other accounts are not affected', async () => {
    const { api_key: key } = await api.createAccount('Many destinations BPO');
    const types = [['call_started'], ['call_completed'], ['transfer_success'], ['voice_detected']];
    const ids: string[] = [];
    for (const t of types) ids.push((await destination(key, t)).body.id);
    const refused = await destination(key, ['handover_started']);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'destination_limit_reached');
    assert.equal(refused.body.limit, 4);
    assert.equal((await api.call('DELETE', `/v1/destinations/${ids[0]}`, { token: key })).status, 204);
    assert.equal((await destination(key, ['handover_started'])).status, 201);
    const other = await api.createAccount('Neighbour BPO');
    assert.equal((await destination(other.api_key, ['call_started'])).status, 201);
  });

  test('mappings per account, versions per mapping and connections per account are bounded', async () => {
    const { api_key: key } = await api.createAccount('Mapping BPO');
    const create = () => api.call('POST', '/v1/mappings', { token: key, body: { name: 'm', language: 'jsonata', source: '{"v": 1}' } });
    const m = await create();
    assert.equal((await create()).status, 201);
    const third = await create();
    assert.equal(third.status, 409);
    assert.equal(third.body.code, 'mapping_limit_reached');

    for (const v of [2, 3]) assert.equal((await api.call('PUT', `/v1/mappings/${m.body.id}`, { token: key, body: { source: `{"v": ${v}}` } })).status, 200);
    const fourth = await api.call('PUT', `/v1/mappings/${m.body.id}`, { token: key, body: { source: '{"v": 4}' } });
    assert.equal(fourth.status, 409);
    assert.equal(fourth.body.code, 'mapping_version_limit_reached');
    assert.equal((await api.call('GET', `/v1/mappings/${m.body.id}`, { token: key })).body.version, 3);

    const connection = () => api.call('POST', '/v1/connections', { token: key, body: { kind: 'basic', name: 'crm', username: 'u', password: 'p' } });
    assert.equal((await connection()).status, 201);
    const second = await connection();
    assert.equal(second.status, 409);
    assert.equal(second.body.code, 'connection_limit_reached');
  });

  test('GET /v1/mappings/:id/versions is paged, newest first, without sources; each source is read per version', async () => {
    const { api_key: key } = await api.createAccount('Versions BPO');
    const source = (v: number) => `{"v": ${v}, "pad": "${'x'.repeat(1000)}"}`;
    const m = await api.call('POST', '/v1/mappings', { token: key, body: { name: 'v', language: 'jsonata', source: source(1) } });
    for (const v of [2, 3]) await api.call('PUT', `/v1/mappings/${m.body.id}`, { token: key, body: { source: source(v) } });
    const path = `/v1/mappings/${m.body.id}/versions`;
    const first = await api.call('GET', `${path}?limit=2`, { token: key });
    assert.equal(first.status, 200);
    assert.deepEqual(first.body.items.map((v: { version: number }) => v.version), [3, 2]);
    assert.ok(first.body.items.every((v: Record<string, unknown>) => !('source' in v)), 'no source inline');
    assert.equal(first.body.next_cursor, '2');
    const rest = await api.call('GET', `${path}?limit=2&cursor=${first.body.next_cursor}`, { token: key });
    assert.deepEqual(rest.body.items.map((v: { version: number }) => v.version), [1]);
    assert.equal(rest.body.next_cursor, null);
    assert.equal((await api.call('GET', `${path}/1`, { token: key })).body.source, source(1));
    const badCursor = await api.call('GET', `${path}?cursor=abc`, { token: key });
    assert.equal(badCursor.status, 400);
    assert.equal((await api.call('GET', `${path}?limit=101`, { token: key })).status, 400);
    const other = await api.createAccount('Other BPO');
    assert.equal((await api.call('GET', path, { token: other.api_key })).status, 404);
  });
});
