import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { loadKeyRing } from '../../src/crypto/keyring.ts';
import { createConfigCache } from '../../src/store/config-cache.ts';
import type { DatabaseTarget } from '../../src/store/db.ts';
import { createStore, type KyselyStore } from '../../src/store/index.ts';
import { testDatabase } from '../support/postgres.ts';

// The worker's cached reads (src/store/config-cache.ts) on both dialects. `worker` and `api` are two
// stores on one database, as the worker and API processes hold it: two connections (SQLite) or two
// pools (PostgreSQL). What one writes, the other's next read sees; until then nothing is re-read.

const run = promisify(execFile);

/** Raw SQL from another OS process, past every store: only the database itself can tell the cache. */
async function sqlFromAnotherProcess(target: DatabaseTarget, text: string, params: string[]): Promise<void> {
  const script =
    'url' in target
      ? `const pg = require('pg'); const c = new pg.Client({ connectionString: process.env.URL }); c.connect().then(() => c.query(process.env.SQL, JSON.parse(process.env.PARAMS))).then(() => c.end());`
      : `const db = new (require('better-sqlite3'))(process.env.URL); db.prepare(process.env.SQL).run(...JSON.parse(process.env.PARAMS)); db.close();`;
  const sql = 'url' in target ? text : text.replace(/\$\d+/g, '?');
  await run(process.execPath, ['-e', script], { cwd: fileURLToPath(new URL('../..', import.meta.url)), env: { ...process.env, URL: 'url' in target ? target.url : target.file, SQL: sql, PARAMS: JSON.stringify(params) } });
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`the worker's config cache on ${dialect}`, () => {
    let dir: string;
    let target: DatabaseTarget;
    let worker: KyselyStore;
    let api: KyselyStore;
    let accountId: string;
    let otherAccountId: string;
    const misses = () => worker.config.stats().misses;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'voiceoi-config-cache-'));
      target = await testDatabase(dialect, dir);
      const masterKeys = `k1:${randomBytes(32).toString('base64')}`;
      api = await createStore({ ...target, keyRing: loadKeyRing({ masterKeys, dataDir: dir }) });
      worker = await createStore({ ...target, keyRing: loadKeyRing({ masterKeys, dataDir: dir }) });
      accountId = (await api.accounts.create('Acme BPO')).id;
      otherAccountId = (await api.accounts.create('Other BPO')).id;
    });
    after(async () => {
      await worker.close();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('an unchanged destination is read from the database once, then served from memory with its secret decrypted', async () => {
      const d = await api.destinations.create(accountId, { url: 'https://crm.example/hook', event_types: ['*'] });
      const first = await worker.destinations.forAttempt(accountId, d.id, new Date());
      const before = misses();
      const again = await worker.destinations.forAttempt(accountId, d.id, new Date());
      assert.equal(misses(), before, 'the second read loaded nothing');
      assert.deepEqual(again?.signingSecrets, [d.signing_secret]);
      assert.deepEqual(again?.destination, first?.destination);
      assert.ok(Object.isFrozen(again!.destination), 'what other attempts share cannot be changed by one of them');
    });

    test("every API change of a destination (URL, pause, disable, rotation, delete) reaches the other process's next read", async () => {
      const d = await api.destinations.create(accountId, { url: 'https://crm.example/v1', event_types: ['*'] });
      const read = () => worker.destinations.forAttempt(accountId, d.id, new Date());
      await read();
      await api.destinations.update(accountId, d.id, { url: 'https://crm.example/v2', timeout_ms: 2000 });
      assert.equal((await read())?.destination.url, 'https://crm.example/v2');
      assert.equal((await read())?.destination.timeout_ms, 2000);
      await api.destinations.update(accountId, d.id, { paused: true });
      assert.equal((await read())?.destination.paused, true);
      await api.destinations.update(accountId, d.id, { paused: false, enabled: false });
      assert.deepEqual([(await read())?.destination.paused, (await read())?.destination.enabled], [false, false]);
      const next = await api.destinations.rotateSecret(accountId, d.id, 0);
      assert.deepEqual((await read())?.signingSecrets, [next]);
      await api.destinations.delete(accountId, d.id);
      assert.equal(await read(), undefined);
    });

    test("the account's subscribed destinations, read per ingested event, follow every create, change and delete", async () => {
      const account = (await api.accounts.create('Ingest BPO')).id;
      const ids = async (type = 'call_completed') => (await worker.destinations.listSubscribed(account, type)).map((d) => d.id);
      assert.deepEqual(await ids(), []);
      const a = await api.destinations.create(account, { url: 'https://crm.example/a', event_types: ['*'] });
      assert.deepEqual(await ids(), [a.id]);
      const before = misses();
      assert.deepEqual(await ids('call_started'), [a.id]);
      assert.equal(misses(), before, 'another event type of an unchanged account is served from memory');
      const b = await api.destinations.create(account, { url: 'https://crm.example/b', event_types: ['call_started'] });
      // Oldest first; two created in the same millisecond come in id order.
      const both = a.created_at === b.created_at ? [a.id, b.id].sort() : [a.id, b.id];
      assert.deepEqual([await ids(), await ids('call_started')], [[a.id], both]);
      await api.destinations.update(account, a.id, { enabled: false });
      assert.deepEqual(await ids('call_started'), [b.id]);
      await api.destinations.update(account, b.id, { event_types: ['call_completed'], filter: 'data.x = 1' });
      const [onlyB] = await worker.destinations.listSubscribed(account, 'call_completed');
      assert.deepEqual([onlyB?.id, onlyB?.filter], [b.id, 'data.x = 1']);
      await sqlFromAnotherProcess(target, 'delete from destinations where id = $1', [b.id]);
      assert.deepEqual(await ids(), []);
    });

    test('a rotated-out secret keeps signing from memory until its grace ends, judged at each attempt', async () => {
      const d = await api.destinations.create(accountId, { url: 'https://crm.example/grace', event_types: ['*'] });
      const next = await api.destinations.rotateSecret(accountId, d.id, 60);
      assert.deepEqual((await worker.destinations.forAttempt(accountId, d.id, new Date()))?.signingSecrets, [next, d.signing_secret]);
      const before = misses();
      const later = new Date(Date.now() + 61_000);
      assert.deepEqual((await worker.destinations.forAttempt(accountId, d.id, later))?.signingSecrets, [next]);
      assert.equal(misses(), before, 'served from memory');
    });

    test('a write from another process, in raw SQL past every store, invalidates', async () => {
      const d = await api.destinations.create(accountId, { url: 'https://crm.example/before', event_types: ['*'] });
      await worker.destinations.forAttempt(accountId, d.id, new Date());
      await sqlFromAnotherProcess(target, 'update destinations set url = $1 where id = $2', ['https://crm.example/after', d.id]);
      assert.equal((await worker.destinations.forAttempt(accountId, d.id, new Date()))?.destination.url, 'https://crm.example/after');
      await sqlFromAnotherProcess(target, 'update accounts set allowed_networks = $1 where id = $2', ['["10.1.0.0/16"]', accountId]);
      assert.deepEqual((await worker.destinations.forAttempt(accountId, d.id, new Date()))?.allowedNetworks, ['10.1.0.0/16']);
    });

    test("the account's allow-list, changed by the operator, reaches the next attempt", async () => {
      const d = await api.destinations.create(accountId, { url: 'https://crm.example/nets', event_types: ['*'] });
      await api.accounts.setAllowedNetworks(accountId, []);
      assert.deepEqual((await worker.destinations.forAttempt(accountId, d.id, new Date()))?.allowedNetworks, []);
      await api.accounts.setAllowedNetworks(accountId, ['192.168.7.0/24']);
      assert.deepEqual((await worker.destinations.forAttempt(accountId, d.id, new Date()))?.allowedNetworks, ['192.168.7.0/24']);
      await api.accounts.setAllowedNetworks(accountId, []);
    });

    test('a connection re-authorized, refreshed or given new secrets is read again; one check serves the whole attempt', async () => {
      const c = await api.connections.create(accountId, { name: 'h', spec: { kind: 'headers', settings: { header_names: ['x-key'] }, secrets: { headers: { 'x-key': 'one' } } }, status: 'connected' });
      const d = await api.destinations.create(accountId, { url: 'https://crm.example/creds', event_types: ['*'], connection_id: c.id });
      const { check } = (await worker.destinations.forAttempt(accountId, d.id, new Date()))!;
      assert.deepEqual((await worker.connections.loadFor(check, c.id))?.secrets, { headers: { 'x-key': 'one' } });
      await api.connections.update(accountId, c.id, { spec: { kind: 'headers', settings: { header_names: ['x-key'] }, secrets: { headers: { 'x-key': 'two' } } } });
      assert.deepEqual((await worker.connections.loadFor(accountId, c.id))?.secrets, { headers: { 'x-key': 'two' } });

      const ac = await api.connections.create(accountId, { name: 'ac', spec: { kind: 'oauth2_authorization_code', settings: { provider: 'crm', scope: null }, secrets: {} }, status: 'needs_reauth' });
      assert.equal((await worker.connections.loadFor(accountId, ac.id))?.tokens, null);
      await api.connections.completeAuthorization(accountId, ac.id, { access_token: 'first', refresh_token: 'r1' });
      const authorized = await worker.connections.loadFor(accountId, ac.id);
      assert.deepEqual([authorized?.status, authorized?.tokens?.access_token], ['connected', 'first']);
      // A refresh stored by another worker.
      assert.equal(await api.connections.saveTokens(ac.id, authorized!.rev, { access_token: 'second', refresh_token: 'r2' }), true);
      assert.equal((await worker.connections.loadFor(accountId, ac.id))?.tokens?.access_token, 'second');
      await api.connections.requireReauth(ac.id, authorized!.rev, { code: 'oauth2_invalid_grant', message: 'revoked' });
      assert.equal((await worker.connections.loadFor(accountId, ac.id))?.status, 'needs_reauth');
    });

    test('a pinned mapping version is served from memory until its mapping changes or is deleted', async () => {
      const m = await api.mappings.create(accountId, { name: 'm', language: 'jsonata', source: '{"v": 1}', timeout_ms: 100 });
      assert.equal((await worker.mappings.versionFor(accountId, m.id, 1))?.source, '{"v": 1}');
      const before = misses();
      assert.equal((await worker.mappings.versionFor(accountId, m.id, 1))?.mapping.timeout_ms, 100);
      assert.equal(misses(), before);
      // A new version changes the mapping's limits, which the pinned version runs under.
      await api.mappings.addVersion(accountId, m.id, { source: '{"v": 2}', timeout_ms: 250 });
      const pinned = await worker.mappings.versionFor(accountId, m.id, 1);
      assert.deepEqual([pinned?.source, pinned?.mapping.timeout_ms, pinned?.mapping.version], ['{"v": 1}', 250, 2]);
      await api.mappings.delete(accountId, m.id);
      assert.equal(await worker.mappings.versionFor(accountId, m.id, 1), undefined);
    });

    test("another account's id misses: the row comes back for its owner to be judged, and is never cached for this account", async () => {
      const d = await api.destinations.create(accountId, { url: 'https://crm.example/victim', event_types: ['*'] });
      const c = await api.connections.create(accountId, { name: 'b', spec: { kind: 'basic', settings: { username: 'u' }, secrets: { password: 'p' } }, status: 'connected' });
      const m = await api.mappings.create(accountId, { name: 'x', language: 'jsonata', source: '$' });
      // Cached for their owner first.
      await worker.destinations.forAttempt(accountId, d.id, new Date());
      await worker.connections.loadFor(accountId, c.id);
      await worker.mappings.versionFor(accountId, m.id, 1);
      for (const scope of [otherAccountId, 'acc_does_not_exist']) {
        for (let i = 0; i < 2; i++) {
          const before = misses();
          assert.equal((await worker.destinations.forAttempt(scope, d.id, new Date()))?.destination.account_id, accountId);
          assert.equal((await worker.connections.loadFor(scope, c.id))?.account_id, accountId);
          assert.equal((await worker.mappings.versionFor(scope, m.id, 1))?.mapping.account_id, accountId);
          assert.equal(misses(), before + 3, `${scope}, read ${i + 1}: all three loaded from the database, none served from the owner's entries`);
        }
      }
    });

    test("one account's changes leave another account's entries in place", async () => {
      const mine = await api.destinations.create(otherAccountId, { url: 'https://other.example/hook', event_types: ['*'] });
      await worker.destinations.forAttempt(otherAccountId, mine.id, new Date());
      await api.destinations.create(accountId, { url: 'https://crm.example/unrelated', event_types: ['*'] });
      const before = misses();
      await worker.destinations.forAttempt(otherAccountId, mine.id, new Date());
      assert.equal(misses(), before);
    });

    test('it holds at most its capacity, forgetting the least recently used', async () => {
      const cache = createConfigCache(worker.db, 2);
      const check = await cache.check(accountId);
      const load = (id: string) => () => Promise.resolve({ id, account_id: accountId });
      for (const id of ['a', 'b', 'a', 'c']) await cache.read(check, id, load(id), (v) => v.account_id);
      assert.equal(cache.stats().size, 2);
      const before = cache.stats().misses;
      await cache.read(check, 'a', load('a'), (v) => v.account_id);
      await cache.read(check, 'b', load('b'), (v) => v.account_id);
      assert.equal(cache.stats().misses, before + 1, '"a" was kept (used last), "b" was forgotten');
    });
  });
}
