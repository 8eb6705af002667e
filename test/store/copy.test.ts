import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { copyDatabase } from '../../src/store/copy.ts';
import { callCompleted } from '../support/events.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';

// npm run db:copy: an install on SQLite moves to PostgreSQL and keeps working (same keys, same secrets).

describe('db:copy from SQLite to PostgreSQL', () => {
  const stacks: Stack[] = [];
  let receiver: Receiver;
  after(async () => {
    for (const s of stacks) await s.stop();
    await receiver?.close();
  });

  test('every table is copied; the PostgreSQL stack answers the same account key, signs with the same secret, uses the same connection and mapping, remembers event ids; a non-empty target is refused', async () => {
    receiver = await startReceiver();
    const shared = { VOICEOI_MASTER_KEYS: `k1:${randomBytes(32).toString('base64')}`, VOICEOI_ADMIN_TOKEN: `admin-${randomBytes(16).toString('hex')}` };
    const sqlite = await startStack(shared, { database: 'sqlite' });
    stacks.push(sqlite);
    const { api_key: key } = await sqlite.createAccount('Moving BPO');
    const call = (s: Stack, method: string, path: string, body?: unknown) => s.call(method, path, { token: key, body });
    const mapping = await call(sqlite, 'POST', '/v1/mappings', { name: 'lead', language: 'jsonata', source: '{ "lead": data.lead_id }' });
    assert.equal(mapping.status, 201, JSON.stringify(mapping.body));
    const secretHeader = `hv_${randomBytes(8).toString('hex')}`;
    const connection = await call(sqlite, 'POST', '/v1/connections', { kind: 'headers', name: 'CRM', headers: { 'X-Api-Key': secretHeader } });
    assert.equal(connection.status, 201, JSON.stringify(connection.body));
    const dest = await call(sqlite, 'POST', '/v1/destinations', {
      url: `${receiver.url}/crm`,
      event_types: ['call_completed'],
      mapping_id: mapping.body.id,
      connection_id: connection.body.id,
    });
    assert.equal(dest.status, 201, JSON.stringify(dest.body));
    const first = await call(sqlite, 'POST', '/v1/events', callCompleted('evt_before_move'));
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.equal((await settled(sqlite, key, first.body.deliveries[0].id)).status, 'delivered');
    // A call erased before the copy: its key is in no copy made after, its summary is.
    const erasedCall = await call(sqlite, 'POST', '/v1/events', callCompleted('evt_erased_before_move'));
    assert.equal((await settled(sqlite, key, erasedCall.body.deliveries[0].id)).status, 'delivered');
    assert.equal((await call(sqlite, 'POST', '/v1/calls/call_evt_erased_before_move/erase')).status, 202);

    const to = await createTestDatabase();
    const copied = await copyDatabase({ from: join(sqlite.config.VOICEOI_DATA_DIR, 'voiceoi.db'), to });
    assert.deepEqual(
      { accounts: copied.accounts, destinations: copied.destinations, mappings: copied.mappings, mapping_versions: copied.mapping_versions, connections: copied.connections, events: copied.events, call_keys: copied.call_keys, call_deliveries: copied.call_deliveries, call_erasures: copied.call_erasures },
      { accounts: 1, destinations: 1, mappings: 1, mapping_versions: 1, connections: 1, events: 2, call_keys: 1, call_deliveries: 2, call_erasures: 1 },
    );
    await assert.rejects(copyDatabase({ from: join(sqlite.config.VOICEOI_DATA_DIR, 'voiceoi.db'), to }), /target database is not empty \(accounts: 1/);
    await sqlite.stopWorker();

    const postgres = await startStack({ ...shared, DATABASE_URL: to });
    stacks.push(postgres);
    assert.equal(postgres.core.store.dialect, 'postgres');
    const listed = await call(postgres, 'GET', '/v1/destinations');
    assert.equal(listed.status, 200, 'the account key is the same');
    assert.deepEqual(listed.body.items.map((d: { id: string }) => d.id), [dest.body.id]);

    // The call key moved with the rest: the history written on SQLite still opens; the erased one does not.
    const before = await call(postgres, 'GET', `/v1/deliveries/${encodeURIComponent(first.body.deliveries[0].id)}/event`);
    assert.equal(before.status, 200, JSON.stringify(before.body));
    assert.equal(before.body.data.call_id, 'call_evt_before_move');
    const erased = await call(postgres, 'GET', `/v1/deliveries/${encodeURIComponent(erasedCall.body.deliveries[0].id)}`);
    assert.equal(erased.body.erased, true);
    assert.equal((await call(postgres, 'GET', `/v1/deliveries/${encodeURIComponent(erasedCall.body.deliveries[0].id)}/event`)).status, 410);

    // The id seen before the move is still a duplicate: nothing new starts.
    const again = await call(postgres, 'POST', '/v1/events', callCompleted('evt_before_move'));
    assert.deepEqual(again.body.deliveries, first.body.deliveries);

    const next = await call(postgres, 'POST', '/v1/events', callCompleted('evt_after_move', { lead_id: '991' }));
    assert.equal(next.status, 202, JSON.stringify(next.body));
    assert.equal((await settled(postgres, key, next.body.deliveries[0].id)).status, 'delivered');
    const req = receiver.requests.at(-1)!;
    assert.equal(req.headers['x-api-key'], secretHeader, 'the connection secret decrypts on PostgreSQL');
    const verified = new Webhook(dest.body.signing_secret).verify(req.body, {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    });
    // A mapped delivery's body is the mapping's output.
    assert.deepEqual(verified, { lead: '991' }, 'signed with the same secret, shaped by the same mapping');
    assert.equal(receiver.requests.length, 3);
  });
});
