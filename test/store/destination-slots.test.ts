import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadKeyRing } from '../../src/crypto/keyring.ts';
import { createStore, type KyselyStore } from '../../src/store/index.ts';
import { testDatabase } from '../support/postgres.ts';

// max_in_flight counted in the shared store: the bound holds under concurrent takers (PostgreSQL's
// pool runs them at once), waiters are served in acceptance order, expired leases come back.

const at = (s: number) => new Date(Date.UTC(2026, 11, 7, 10, 0, s)).toISOString();

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`destination slots on ${dialect}`, () => {
    let dir: string;
    let store: KyselyStore;
    let accountId: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'voiceoi-slots-'));
      const database = await testDatabase(dialect, dir);
      store = await createStore({ ...database, keyRing: loadKeyRing({ masterKeys: `k1:${randomBytes(32).toString('base64')}`, dataDir: dir }) });
      accountId = (await store.accounts.create('Acme BPO')).id;
    });
    after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('ten concurrent takers of a 3-slot destination: three get one, seven wait in acceptance order, each release hands the oldest its slot', async () => {
      const d = await store.destinations.create(accountId, { url: 'https://example.com/hook', event_types: ['*'], max_in_flight: 3 });
      const req = (i: number) => ({ destinationId: d.id, deliveryId: `dlv_${i}`, accountId, acceptedAt: at(i), max: 3, leaseMs: 20_000 });
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => store.slots.acquire(req(i))));
      assert.equal(answers.filter((a) => a.granted).length, 3);
      assert.equal(await store.slots.inFlight(d.id), 3);
      const waiting = await store.slots.waiting(d.id);
      assert.equal(waiting.length, 7);
      assert.deepEqual(waiting, [...waiting].sort(), 'oldest accepted first');
      for (const a of answers) if (!a.granted) assert.equal(a.max, 3);

      // A newcomer accepted later never overtakes them, even once a slot is free.
      const holder = answers.findIndex((a) => a.granted);
      const handed = await store.slots.release(d.id, `dlv_${holder}`);
      assert.deepEqual(handed, [{ destinationId: d.id, deliveryId: waiting[0] }]);
      const late = await store.slots.acquire(req(99));
      assert.equal(late.granted, false);
      // The delivery handed a slot takes it when its attempt comes.
      assert.equal((await store.slots.acquire(req(Number(waiting[0]!.slice(4))))).granted, true);
      assert.equal(await store.slots.inFlight(d.id), 3);
      assert.deepEqual((await store.slots.waiting(d.id)).at(-1), 'dlv_99');
    });

    test('an expired lease stops counting; the sweep hands it to the oldest waiter', async () => {
      const d = await store.destinations.create(accountId, { url: 'https://example.com/hook', event_types: ['*'], max_in_flight: 1 });
      const now = Date.now();
      assert.equal((await store.slots.acquire({ destinationId: d.id, deliveryId: 'dlv_stuck', accountId, acceptedAt: at(1), max: 1, leaseMs: 20_000, nowMs: now })).granted, true);
      assert.equal((await store.slots.acquire({ destinationId: d.id, deliveryId: 'dlv_next', accountId, acceptedAt: at(2), max: 1, leaseMs: 20_000, nowMs: now })).granted, false);
      const sweptHere = async (nowMs: number) => (await store.slots.sweep({ nowMs })).filter((h) => h.destinationId === d.id);
      assert.deepEqual(await sweptHere(now + 1000), [], 'not expired yet');
      const later = now + 15_000 + 5_000 + 1;
      assert.deepEqual(await sweptHere(later), [{ destinationId: d.id, deliveryId: 'dlv_next' }]);
      assert.equal(await store.slots.inFlight(d.id, later), 1);
      assert.deepEqual(await store.slots.waiting(d.id), []);
    });

    test('the account bound holds across its destinations, and a freed account slot reaches a waiter at another destination', async () => {
      const other = (await store.accounts.create('Bounded BPO')).id;
      const d1 = await store.destinations.create(other, { url: 'https://example.com/1', event_types: ['*'], max_in_flight: 5 });
      const d2 = await store.destinations.create(other, { url: 'https://example.com/2', event_types: ['*'], max_in_flight: 5 });
      const take = (dest: string, i: number) => store.slots.acquire({ destinationId: dest, deliveryId: `dlv_acc_${i}`, accountId: other, acceptedAt: at(i), max: 5, leaseMs: 20_000, accountMax: 2 });
      assert.equal((await take(d1.id, 1)).granted, true);
      assert.equal((await take(d1.id, 2)).granted, true);
      assert.equal((await take(d2.id, 3)).granted, false, 'the account is at its bound');
      assert.deepEqual(await store.slots.release(d1.id, 'dlv_acc_1', { accountMax: 2 }), [{ destinationId: d2.id, deliveryId: 'dlv_acc_3' }]);
    });
  });
}
