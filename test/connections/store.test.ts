import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadKeyRing } from '../../src/crypto/keyring.ts';
import type { DatabaseTarget } from '../../src/store/db.ts';
import { createStore, type KyselyStore } from '../../src/store/index.ts';
import { testDatabase, testDialect } from '../support/postgres.ts';

// Secrets at rest: encrypted with the key ring, bound to their record, re-encrypted on write.

const k1 = `k1:${randomBytes(32).toString('base64')}`;
const k2 = `k2:${randomBytes(32).toString('base64')}`;
const HEADER_SECRET = `hv_${randomBytes(12).toString('hex')}`;
const CLIENT_SECRET = `cs_${randomBytes(12).toString('hex')}`;

describe('connection store: secrets at rest', () => {
  let dir: string;
  let database: DatabaseTarget;
  let store: KyselyStore;
  let accountA: string;
  let accountB: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voiceoi-conn-store-'));
    database = await testDatabase(testDialect(), dir);
    store = await createStore({ ...database, keyRing: loadKeyRing({ masterKeys: k1, dataDir: dir }) });
    accountA = (await store.accounts.create('A')).id;
    accountB = (await store.accounts.create('B')).id;
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rawRow = (id: string) => store.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  test('the database file holds ciphertext only, and the record decrypts back', async () => {
    const c = await store.connections.create(accountA, {
      name: 'CRM',
      spec: { kind: 'headers', settings: { header_names: ['X-Api-Key'] }, secrets: { headers: { 'X-Api-Key': HEADER_SECRET } } },
      status: 'connected',
    });
    const row = await rawRow(c.id);
    assert.match(row.secrets, /^v1\.k1\./);
    assert.ok(!JSON.stringify(row).includes(HEADER_SECRET));
    assert.ok(!JSON.stringify(c).includes(HEADER_SECRET), 'the metadata view carries no secret');
    const rec = await store.connections.load(c.id);
    assert.deepEqual(rec?.secrets, { headers: { 'X-Api-Key': HEADER_SECRET } });
  });

  test('a ciphertext moved to another record (or another account) does not decrypt', async () => {
    const spec = (secret: string) =>
      ({ kind: 'oauth2_client_credentials', settings: { token_url: 'https://idp.example/token', client_id: 'c', scope: null, audience: null, auth_method: 'client_secret_basic' }, secrets: { client_secret: secret } }) as const;
    const a = await store.connections.create(accountA, { name: 'a', spec: spec(CLIENT_SECRET), status: 'connected' });
    const b = await store.connections.create(accountB, { name: 'b', spec: spec('other-secret'), status: 'connected' });
    const stolen = (await rawRow(a.id)).secrets;
    await store.db.updateTable('connections').set({ secrets: stolen }).where('id', '=', b.id).execute();
    await assert.rejects(store.connections.load(b.id), (err: Error) => /failed authentication/.test(err.message) && !err.message.includes(CLIENT_SECRET));
  });

  test('after a key rotation, any write re-encrypts the record under the current key', async () => {
    const c = await store.connections.create(accountA, {
      name: 'basic',
      spec: { kind: 'basic', settings: { username: 'svc' }, secrets: { password: 'pw-before-rotation' } },
      status: 'connected',
    });
    await store.connections.saveTokens(c.id, 1, { access_token: 'at-before-rotation' });
    assert.match((await rawRow(c.id)).tokens!, /^v1\.k1\./);
    await store.close();

    // Restart with k2 appended: k2 is now current, k1 still decrypts.
    store = await createStore({ ...database, keyRing: loadKeyRing({ masterKeys: `${k1},${k2}`, dataDir: dir }) });
    assert.match((await rawRow(c.id)).secrets, /^v1\.k1\./, 'reads do not rewrite');
    await store.connections.update(accountA, c.id, { name: 'renamed' });
    const row = await rawRow(c.id);
    assert.match(row.secrets, /^v1\.k2\./);
    assert.match(row.tokens!, /^v1\.k2\./);
    const rec = await store.connections.load(c.id);
    assert.deepEqual(rec?.secrets, { password: 'pw-before-rotation' });
    assert.equal(rec?.tokens?.access_token, 'at-before-rotation');
    // And k1 can now go without losing this record.
    await store.close();
    store = await createStore({ ...database, keyRing: loadKeyRing({ masterKeys: k2, dataDir: dir }) });
    assert.equal((await store.connections.load(c.id))?.name, 'renamed');
  });

  test('refreshed tokens are not stored over a re-authorization that happened meanwhile', async () => {
    const c = await store.connections.create(accountA, { name: 'ac', spec: { kind: 'oauth2_authorization_code', settings: { provider: 'crm', scope: null }, secrets: {} }, status: 'needs_reauth' });
    await store.connections.completeAuthorization(accountA, c.id, { access_token: 'first', refresh_token: 'r1' });
    const rev = (await store.connections.load(c.id))!.rev;
    await store.connections.completeAuthorization(accountA, c.id, { access_token: 'second', refresh_token: 'r2' });
    assert.equal(await store.connections.saveTokens(c.id, rev, { access_token: 'stale-refresh' }), false);
    assert.equal((await store.connections.load(c.id))?.tokens?.access_token, 'second');
  });

  test('a state is consumed once; only one process holds the refresh lease', async () => {
    const c = await store.connections.create(accountA, { name: 'ac2', spec: { kind: 'oauth2_authorization_code', settings: { provider: 'crm', scope: null }, secrets: {} }, status: 'needs_reauth' });
    const pending = { state_hash: 'h1', account_id: accountA, connection_id: c.id, provider: 'crm', redirect_uri: 'http://x/cb', code_challenge: 'cc', expires_at: new Date(Date.now() + 60_000).toISOString() };
    await store.connections.createAuthorization(pending);
    const [x, y] = await Promise.all([store.connections.consumeAuthorization('h1'), store.connections.consumeAuthorization('h1')]);
    assert.equal([x, y].filter(Boolean).length, 1);
    assert.deepEqual(x ?? y, pending);

    assert.equal(await store.connections.acquireRefreshLease(c.id, Date.now() + 30_000), true);
    assert.equal(await store.connections.acquireRefreshLease(c.id, Date.now() + 30_000), false);
    await store.connections.releaseRefreshLease(c.id);
    assert.equal(await store.connections.acquireRefreshLease(c.id, Date.now() + 30_000), true);
  });
});
