import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';
import { callCompleted } from '../support/events.ts';
import { createDestination, createMapping } from '../support/resources.ts';

// The column is a migration of its own: the suite runs on both control-plane databases.
for (const database of ['sqlite', 'postgres'] as const) {
  describe(`destinations: mapping_version pins one saved version of the mapping (${database})`, () => {
    let stack: Stack;
    let receiver: Receiver;
    let key: string;
    let other: string;
    before(async () => {
      stack = await startStack({}, { database });
      receiver = await startReceiver();
      key = (await stack.createAccount('A')).api_key;
      other = (await stack.createAccount('B')).api_key;
    });
    after(async () => {
      await stack.stop();
      await receiver.close();
    });

    const mapping = async (token: string, v: number) => (await createMapping(stack, token, { name: `v${v}`, source: `{"v": ${v}}` })).id;
    const destination = (body: Record<string, unknown>) => createDestination(stack, key, { url: receiver.url, retry_schedule_s: [0], ...body });

    test('a pinned destination runs its version after a new one is saved; an unpinned one follows the current version', async () => {
      const m = await mapping(key, 1);
      const pinned = await destination({ mapping_id: m, mapping_version: 1 });
      const following = await destination({ mapping_id: m });
      assert.equal(pinned.mapping_version, 1);
      assert.equal(following.mapping_version, null);
      assert.equal((await stack.call('PUT', `/v1/mappings/${m}`, { token: key, body: { source: '{"v": 2}' } })).status, 200);

      const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_pin') });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const to = (d: { id: string }) => res.body.deliveries.find((x: { destination_id: string }) => x.destination_id === d.id).id as string;
      const p = await settled<any>(stack, key, to(pinned));
      const f = await settled<any>(stack, key, to(following));
      assert.equal(p.status, 'delivered');
      assert.equal(p.mapping_version, 1);
      assert.equal(f.mapping_version, 2);
      const bodies = receiver.requests.filter((r) => r.headers['webhook-id'] === 'evt_pin').map((r) => JSON.parse(r.body).v).sort();
      assert.deepEqual(bodies, [1, 2]);
    });

    test('a version the mapping does not have, or a version without a mapping, is refused and changes nothing', async () => {
      const m = await mapping(key, 1);
      const missing = await stack.call('POST', '/v1/destinations', { token: key, body: { url: receiver.url, event_types: ['*'], mapping_id: m, mapping_version: 2 } });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.code, 'mapping_version_not_found');
      assert.match(missing.body.message, /mapping_version: mapping '.+' has no version 2/);

      const d = await destination({ mapping_id: m, mapping_version: 1 });
      const patch = await stack.call('PATCH', `/v1/destinations/${d.id}`, { token: key, body: { mapping_version: 7 } });
      assert.equal(patch.status, 400);
      assert.equal(patch.body.code, 'mapping_version_not_found');
      assert.equal((await stack.call('GET', `/v1/destinations/${d.id}`, { token: key })).body.mapping_version, 1);

      const orphan = await stack.call('POST', '/v1/destinations', { token: key, body: { url: receiver.url, event_types: ['*'], mapping_version: 1 } });
      assert.equal(orphan.status, 400);
      assert.equal(orphan.body.code, 'mapping_version_without_mapping');
      for (const bad of [0, 1.5, '1']) {
        const r = await stack.call('POST', '/v1/destinations', { token: key, body: { url: receiver.url, event_types: ['*'], mapping_id: m, mapping_version: bad } });
        assert.equal(r.status, 400, `mapping_version ${JSON.stringify(bad)}`);
      }
      // Another account's mapping is not found, with or without a version.
      const foreign = await mapping(other, 1);
      const r = await stack.call('POST', '/v1/destinations', { token: key, body: { url: receiver.url, event_types: ['*'], mapping_id: foreign, mapping_version: 1 } });
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'mapping_not_found');
    });

    test('clearing mapping_id, or naming another mapping without a version, unpins', async () => {
      const m1 = await mapping(key, 1);
      const m2 = await mapping(key, 1);
      const d = await destination({ mapping_id: m1, mapping_version: 1 });
      const moved = await stack.call('PATCH', `/v1/destinations/${d.id}`, { token: key, body: { mapping_id: m2 } });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.equal(moved.body.mapping_version, null);
      const repinned = await stack.call('PATCH', `/v1/destinations/${d.id}`, { token: key, body: { mapping_version: 1 } });
      assert.equal(repinned.body.mapping_version, 1);
      // Naming the same mapping again keeps the pin.
      assert.equal((await stack.call('PATCH', `/v1/destinations/${d.id}`, { token: key, body: { mapping_id: m2 } })).body.mapping_version, 1);
      const cleared = await stack.call('PATCH', `/v1/destinations/${d.id}`, { token: key, body: { mapping_id: null } });
      assert.equal(cleared.status, 200);
      assert.equal(cleared.body.mapping_id, null);
      assert.equal(cleared.body.mapping_version, null);
    });

    test('the OpenAPI document describes mapping_version on create, patch and the view', async () => {
      const paths = (await stack.call('GET', '/openapi.json')).body.paths;
      for (const part of [paths['/v1/destinations'].post.requestBody, paths['/v1/destinations/{id}'].patch.requestBody, paths['/v1/destinations/{id}'].get.responses['200']])
        assert.match(JSON.stringify(part), /"mapping_version":\{[^}]*A saved version of mapping_id/);
    });
  });
}
