import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadKeyRing } from '../../src/crypto/keyring.ts';
import { createStore, type KyselyStore } from '../../src/store/index.ts';
import { testDatabase } from '../support/postgres.ts';

// A pull destination's stream on both dialects: one message per delivery whatever retries, cursors
// given in commit order, acks and stream places.

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`pull messages on ${dialect}`, () => {
    let dir: string;
    let store: KyselyStore;
    let accountId: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'voiceoi-messages-'));
      store = await createStore({ ...(await testDatabase(dialect, dir)), keyRing: loadKeyRing({ masterKeys: `k1:${randomBytes(32).toString('base64')}`, dataDir: dir }) });
      accountId = (await store.accounts.create('Acme BPO')).id;
    });
    after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const message = (destinationId: string, n: number) => ({
      accountId,
      destinationId,
      deliveryId: `delivery:${destinationId}:evt_${n}`,
      eventId: `evt_${n}`,
      eventType: 'call_completed',
      callId: `call_${n}`,
      headers: { 'webhook-id': `evt_${n}`, 'webhook-timestamp': String(1_800_000_000 + n), 'webhook-signature': `v1,sig${n}` },
      body: JSON.stringify({ n }),
    });

    test('a delivery appended again (a retried attempt, even concurrently) stays one message with one cursor', async () => {
      const d = await store.destinations.create(accountId, { url: '', mode: 'pull', event_types: ['*'] });
      const first = await store.messages.append(message(d.id, 1));
      assert.equal(first.created, true);
      const again = await Promise.all([1, 2, 3].map(() => store.messages.append({ ...message(d.id, 1), headers: { ...message(d.id, 1).headers, 'webhook-timestamp': '1' } })));
      for (const a of again) assert.deepEqual(a, { message: first.message, created: false });
      assert.deepEqual(await store.messages.after(d.id, '0', 10), [first.message]);
      assert.deepEqual(first.message, {
        cursor: '1',
        delivery_id: `delivery:${d.id}:evt_1`,
        event_id: 'evt_1',
        event_type: 'call_completed',
        call_id: 'call_1',
        headers: { 'webhook-id': 'evt_1', 'webhook-timestamp': '1800000001', 'webhook-signature': 'v1,sig1' },
        body: '{"n":1}',
      });
    });

    test('concurrent appends get consecutive cursors, and a reader after any cursor sees all later ones', async () => {
      const d = await store.destinations.create(accountId, { url: '', mode: 'pull', event_types: ['*'] });
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.messages.append(message(d.id, i + 1))));
      const all = await store.messages.after(d.id, '0', 100);
      assert.deepEqual(all.map((m) => m.cursor), Array.from({ length: 20 }, (_, i) => String(i + 1)));
      assert.equal(new Set(all.map((m) => m.delivery_id)).size, 20);
      assert.deepEqual((await store.messages.after(d.id, '18', 100)).map((m) => m.cursor), ['19', '20']);
      assert.deepEqual(await store.messages.position(d.id), { last: '20', prunedThrough: '0' });
    });

    test("a call's message is stored sealed under the call's key; once the key is destroyed it is left out, and the cursor still moves past it", async () => {
      const d = await store.destinations.create(accountId, { url: '', mode: 'pull', event_types: ['*'] });
      const secret = `caller ${randomBytes(4).toString('hex')}`;
      const sealed = await store.messages.append({ ...message(d.id, 1), callId: `call_${dialect}_x`, body: JSON.stringify({ secret }) });
      assert.equal(sealed.message.body, JSON.stringify({ secret }), 'the appender gets the body it gave');
      await store.messages.append({ ...message(d.id, 2), callId: undefined });
      const row = await store.db.selectFrom('stream_messages').select('body').where('destination_id', '=', d.id).where('seq', '=', 1).executeTakeFirstOrThrow();
      assert.ok(!row.body.includes(secret), row.body);
      assert.deepEqual((await store.messages.after(d.id, '0', 10)).map((m) => m.body), [JSON.stringify({ secret }), '{"n":2}']);

      const erasure = await store.calls.beginErasure(accountId, `call_${dialect}_x`, 'account');
      await store.calls.completeErasure(erasure, { deliveries: 0, cancelled: 0 });
      assert.deepEqual(await store.messages.page(d.id, '0', 1), { items: [], next: '1', scanned: 1 }, 'a page of only erased messages still advances');
      assert.deepEqual((await store.messages.after(d.id, '0', 10)).map((m) => m.cursor), ['2']);
      assert.equal(await store.messages.removeDeliveries([`delivery:${d.id}:evt_1`]), 1);
      assert.deepEqual(await store.messages.page(d.id, '0', 10).then((p) => p.items.map((m) => m.cursor)), ['2']);
    });

    test("stream places: an account's bound holds, a released or expired place is free again", async () => {
      const now = Date.now();
      const taken = await Promise.all([1, 2, 3].map((n) => store.messages.lease(accountId, `sls_${dialect}_${n}`, 2, now, now + 60_000)));
      assert.deepEqual(taken.sort(), [false, true, true]);
      await store.messages.releaseLease(`sls_${dialect}_1`);
      await store.messages.releaseLease(`sls_${dialect}_2`);
      await store.messages.releaseLease(`sls_${dialect}_3`);
      assert.equal(await store.messages.lease(accountId, `sls_${dialect}_4`, 1, now, now + 1000), true);
      assert.equal(await store.messages.lease(accountId, `sls_${dialect}_5`, 1, now + 2000, now + 3000), true, 'the first expired');
    });
  });
}
