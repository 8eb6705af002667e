import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { AppError } from '../../src/errors.ts';
import { loadKeyRing } from '../../src/crypto/keyring.ts';
import type { DatabaseTarget } from '../../src/store/db.ts';
import { createStore, type KyselyStore } from '../../src/store/index.ts';
import { testDatabase } from '../support/postgres.ts';

// The control plane behaves the same on SQLite and PostgreSQL: one migration list, the same answers
// to uniqueness, cascades, JSON and timestamps, secrets encrypted before they reach either.

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`the store on ${dialect}`, () => {
    let dir: string;
    let database: DatabaseTarget;
    let store: KyselyStore;
    let accountId: string;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'voiceoi-dialects-'));
      database = await testDatabase(dialect, dir);
      store = await createStore({ ...database, keyRing: loadKeyRing({ masterKeys: `k1:${randomBytes(32).toString('base64')}`, dataDir: dir }) });
      accountId = (await store.accounts.create('Acme BPO')).id;
    });
    after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('reports its dialect, and opening it again runs no migration twice', async () => {
      assert.equal(store.dialect, dialect);
      const again = await createStore({ ...database, keyRing: loadKeyRing({ masterKeys: `k1:${randomBytes(32).toString('base64')}`, dataDir: dir }) });
      try {
        const names = (await (again.db as unknown as Kysely<{ kysely_migration: { name: string } }>).selectFrom('kysely_migration').select('name').execute()).map((r) => r.name);
        assert.equal(new Set(names).size, names.length);
        assert.ok(names.includes('0001_accounts_destinations_events'));
      } finally {
        await again.close();
      }
    });

    test('a unique column refuses a second row with the same value, and an event id is claimed once', async () => {
      const row = await store.db.selectFrom('accounts').selectAll().where('id', '=', accountId).executeTakeFirstOrThrow();
      await assert.rejects(store.db.insertInto('accounts').values({ ...row, id: 'acc_other' }).execute());
      const record = { event_id: 'evt_1', type: 'call_completed', received_at: '2026-12-01T10:00:00.000Z', deliveries: [{ id: 'd1', destination_id: 'dst_1' }] };
      // Concurrent duplicates: every caller gets the first record back.
      const claims = await Promise.all([1, 2, 3, 4].map((n) => store.events.claim(accountId, { ...record, deliveries: [{ id: `d${n}`, destination_id: 'dst_1' }] })));
      assert.equal(new Set(claims.map((c) => JSON.stringify(c))).size, 1);
    });

    test('deleting an account deletes what hangs off it (foreign keys cascade)', async () => {
      const other = await store.accounts.create('Gone BPO');
      const d = await store.destinations.create(other.id, { url: 'https://example.com/hook', event_types: ['*'] });
      const m = await store.mappings.create(other.id, { name: 'm', language: 'jsonata', source: '$' });
      const c = await store.connections.create(other.id, { name: 'c', spec: { kind: 'basic', settings: { username: 'u' }, secrets: { password: 'p' } }, status: 'connected' });
      await store.db.deleteFrom('accounts').where('id', '=', other.id).execute();
      assert.equal(await store.destinations.getById(d.id), undefined);
      assert.equal(await store.mappings.version(m.id, 1), undefined);
      assert.equal(await store.connections.load(c.id), undefined);
    });

    test('JSON, booleans and timestamps come back as they went in; secrets are stored encrypted', async () => {
      const d = await store.destinations.create(accountId, {
        url: 'https://example.com/ünïcode?q=1',
        description: 'émoji 📞 and "quotes"',
        event_types: ['call_completed', 'call_started'],
        retry_schedule_s: [0, 5, 30],
        enabled: false,
      });
      const back = await store.destinations.get(accountId, d.id);
      const { signing_secret: _s, ...created } = d;
      assert.deepEqual(back, created);
      assert.equal(back?.description, 'émoji 📞 and "quotes"');
      assert.deepEqual(back?.event_types, ['call_completed', 'call_started']);
      assert.deepEqual(back?.retry_schedule_s, [0, 5, 30]);
      assert.equal(back?.enabled, false);
      assert.equal(back?.created_at, d.created_at);
      assert.match(back!.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const raw = await store.db.selectFrom('destinations').select('signing_secrets').where('id', '=', d.id).executeTakeFirstOrThrow();
      assert.ok(!raw.signing_secrets.includes(d.signing_secret), 'the signing secret is not stored in the clear');
      assert.match(raw.signing_secrets, /"ciphertext":"v1\.k1\./);
      const attempt = await store.destinations.getForAttempt(d.id, new Date());
      assert.deepEqual(attempt?.signingSecrets, [d.signing_secret]);
    });

    test('the OAuth2 refresh lease holds an epoch-millisecond deadline, and only one caller gets it', async () => {
      const c = await store.connections.create(accountId, { name: 'lease', spec: { kind: 'basic', settings: { username: 'u' }, secrets: { password: 'p' } }, status: 'connected' });
      const until = Date.now() + 60_000;
      const got = await Promise.all([1, 2, 3].map(() => store.connections.acquireRefreshLease(c.id, until)));
      assert.equal(got.filter(Boolean).length, 1);
      const row = await store.db.selectFrom('connections').select('refresh_lease_until').where('id', '=', c.id).executeTakeFirstOrThrow();
      assert.equal(row.refresh_lease_until, until);
      await store.connections.releaseRefreshLease(c.id);
      assert.equal(await store.connections.acquireRefreshLease(c.id, until), true);
    });

    test('the ingest quota admits a burst, refuses past it with when to come back, refills with time, and counts concurrent takes once each', async () => {
      const acc = (await store.accounts.create('Quota BPO')).id;
      const pace = { intervalUs: 100_000, toleranceUs: 1_000_000 }; // 10 events/s, burst 10
      const t0 = 1_800_000_000_000;
      assert.deepEqual(await store.ingestQuotas.take(acc, 8, pace, t0), { admitted: true });
      assert.deepEqual(await store.ingestQuotas.take(acc, 2, pace, t0), { admitted: true });
      // The eleventh event at once: one interval (100 ms) too early.
      assert.deepEqual(await store.ingestQuotas.take(acc, 1, pace, t0), { admitted: false, retryAfterMs: 100 });
      // A refusal spends nothing: 300 ms later three events fit again, a fourth does not.
      assert.deepEqual(await store.ingestQuotas.take(acc, 3, pace, t0 + 300), { admitted: true });
      assert.equal((await store.ingestQuotas.take(acc, 1, pace, t0 + 300)).admitted, false);
      // An override (here 1 event/s, burst 100) replaces the defaults for this account only.
      await store.ingestQuotas.set(acc, { rate_per_s: 1, burst: 100 });
      assert.deepEqual(await store.ingestQuotas.get(acc), { rate_per_s: 1, burst: 100 });
      const later = t0 + 3_600_000;
      assert.deepEqual(await store.ingestQuotas.take(acc, 100, pace, later), { admitted: true });
      assert.deepEqual(await store.ingestQuotas.take(acc, 1, pace, later), { admitted: false, retryAfterMs: 1_000 });
      await store.ingestQuotas.set(acc, null);
      assert.equal(await store.ingestQuotas.get(acc), undefined);
      // Concurrent takes of one fresh account (as from several API replicas): exactly the burst is admitted.
      const fresh = (await store.accounts.create('Racing BPO')).id;
      const takes = await Promise.all(Array.from({ length: 30 }, () => store.ingestQuotas.take(fresh, 1, pace, t0)));
      assert.equal(takes.filter((t) => t.admitted).length, 10);
    });

    test('concurrent read-modify-write transactions do not lose each other (mapping versions, secret rotation)', async () => {
      const m = await store.mappings.create(accountId, { name: 'v', language: 'jsonata', source: '$' });
      await Promise.all([1, 2, 3, 4, 5].map((n) => store.mappings.addVersion(accountId, m.id, { source: `$${n}` })));
      // Paged newest first: the page and the one after it.
      const first = await store.mappings.versions(accountId, m.id, { limit: 4 });
      assert.deepEqual(first?.items.map((v) => v.version), [6, 5, 4, 3]);
      assert.equal(first?.more, true);
      const rest = await store.mappings.versions(accountId, m.id, { limit: 4, before: 3 });
      assert.deepEqual(rest?.items.map((v) => v.version), [2, 1]);
      assert.equal(rest?.more, false);
      assert.equal((await store.mappings.get(accountId, m.id))?.version, 6);

      const d = await store.destinations.create(accountId, { url: 'https://example.com/rotate', event_types: ['*'] });
      const rotated = await Promise.all([1, 2, 3].map(() => store.destinations.rotateSecret(accountId, d.id, 3600)));
      const signing = (await store.destinations.getForAttempt(d.id, new Date()))!.signingSecrets;
      // One of them is current; every other secret ever handed out still signs through its grace.
      assert.equal(signing.length, 4);
      for (const s of [d.signing_secret, ...rotated]) assert.ok(signing.includes(s!));
    });
  });
}

describe('a PostgreSQL server that cannot answer', () => {
  test('a row held locked by another client past the budget answers 503 database_busy, and the store works once it is released', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voiceoi-pg-busy-'));
    const database = (await testDatabase('postgres', dir)) as { url: string };
    const store = await createStore({ ...database, keyRing: loadKeyRing({ masterKeys: `k1:${randomBytes(32).toString('base64')}`, dataDir: dir }) });
    const other = new pg.Client({ connectionString: database.url });
    try {
      const account = await store.accounts.create('Locked BPO');
      const m = await store.mappings.create(account.id, { name: 'v', language: 'jsonata', source: '$' });
      await other.connect();
      await other.query('begin');
      await other.query('select * from mappings where id = $1 for update', [m.id]);
      const t0 = Date.now();
      const err = await store.mappings.addVersion(account.id, m.id, { source: '$$' }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
      assert.equal(err.statusCode, 503);
      assert.equal(err.code, 'database_busy');
      assert.equal(err.details?.retry_after_s, 1);
      assert.ok(Date.now() - t0 >= 900, 'it waited for the lock first');
      await other.query('rollback');
      assert.equal((await store.mappings.addVersion(account.id, m.id, { source: '$$' }))?.version, 2);
    } finally {
      await other.end();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a NUL character, which PostgreSQL text cannot hold, is refused as 400 invalid_text, not a 500', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voiceoi-pg-nul-'));
    const store = await createStore({ ...(await testDatabase('postgres', dir)), keyRing: loadKeyRing({ masterKeys: `k1:${randomBytes(32).toString('base64')}`, dataDir: dir }) });
    try {
      const err = await store.accounts.create('Nul\u0000BPO').then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof AppError, `expected an AppError, got ${String(err)}`);
      assert.equal(err.statusCode, 400);
      assert.equal(err.code, 'invalid_text');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a server nobody listens on answers 503 database_busy after the budget, not a 500', async () => {
    const { openDatabase } = await import('../../src/store/db.ts');
    const { Kysely: KyselyClass } = await import('kysely');
    const { postgresDialect } = await import('../../src/store/postgres.ts');
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const db = new KyselyClass<any>({ dialect: postgresDialect({ url: 'postgres://voiceoi@127.0.0.1:9/none' }) });
    const t0 = Date.now();
    const err = await db.selectNoFrom((eb) => eb.lit(1).as('one')).execute().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof AppError && err.code === 'database_busy', `expected database_busy, got ${String(err)}`);
    assert.ok(Date.now() - t0 >= 900, 'it retried for the budget');
    await db.destroy();
    await assert.rejects(openDatabase({ url: 'postgres://voiceoi@127.0.0.1:9/none' }), /Database migration failed.*busy or unreachable/);
  });
});
