import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { codecUiSecretFor } from '../src/admin-token.ts';
import { loadConfig } from '../src/config.ts';
import { startStack } from './support/stack.ts';

// With DATABASE_URL, replicas share one control plane: each needs nothing from its own data directory.

const url = 'postgres://voiceoi:secret@db.internal:5432/voiceoi';
const keys = `k1:${randomBytes(32).toString('base64')}`;
const admin = `admin-${randomBytes(16).toString('hex')}`;

describe('a replica on PostgreSQL', () => {
  test('refuses to start without the master keys and the admin token, naming each variable', () => {
    assert.throws(() => loadConfig({ DATABASE_URL: url }), (err: Error) => {
      assert.match(err.message, /VOICEOI_MASTER_KEYS: is required with DATABASE_URL/);
      assert.match(err.message, /VOICEOI_ADMIN_TOKEN: is required with DATABASE_URL/);
      return true;
    });
    // A worker serves no admin API: the keys are all it needs.
    assert.throws(() => loadConfig({ DATABASE_URL: url, VOICEOI_ROLE: 'worker' }), (err: Error) => !/VOICEOI_ADMIN_TOKEN/.test(err.message) && /VOICEOI_MASTER_KEYS/.test(err.message));
    assert.equal(loadConfig({ DATABASE_URL: url, VOICEOI_ROLE: 'worker', VOICEOI_MASTER_KEYS: keys }).DATABASE_URL, url);
    // Without DATABASE_URL an install still generates its own, as before.
    assert.equal(loadConfig({}).DATABASE_URL, undefined);
  });

  test('DATABASE_URL must be a PostgreSQL URL; the pool size is bounded', () => {
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://db/voiceoi', VOICEOI_MASTER_KEYS: keys, VOICEOI_ADMIN_TOKEN: admin }), /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    assert.throws(() => loadConfig({ DATABASE_URL: url, VOICEOI_MASTER_KEYS: keys, VOICEOI_ADMIN_TOKEN: admin, VOICEOI_DATABASE_POOL: '0' }), /VOICEOI_DATABASE_POOL/);
    const c = loadConfig({ DATABASE_URL: 'postgresql://db/voiceoi', VOICEOI_MASTER_KEYS: keys, VOICEOI_ADMIN_TOKEN: admin, VOICEOI_DATABASE_POOL: '25' });
    assert.equal(c.VOICEOI_DATABASE_POOL, 25);
    assert.equal(loadConfig({}).VOICEOI_DATABASE_POOL, 10);
  });

  test('every API replica derives the same codec UI secret from the admin token, and writes no file for it', () => {
    const dirs = [mkdtempSync(join(tmpdir(), 'voiceoi-replica-')), mkdtempSync(join(tmpdir(), 'voiceoi-replica-'))];
    try {
      const [a, b] = dirs.map((d) => codecUiSecretFor({ DATABASE_URL: url, VOICEOI_ADMIN_TOKEN: admin, VOICEOI_DATA_DIR: d }));
      assert.equal(a, b);
      assert.match(a!, /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(a, codecUiSecretFor({ DATABASE_URL: url, VOICEOI_ADMIN_TOKEN: `${admin}x`, VOICEOI_DATA_DIR: dirs[0]! }));
      for (const d of dirs) assert.deepEqual(readdirSync(d), []);
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });

  test('a running API and worker leave their data directory empty: keys, token, secret and data come from outside', async () => {
    const stack = await startStack({}, { database: 'postgres' });
    try {
      const { api_key } = await stack.createAccount();
      assert.equal((await stack.call('GET', '/v1/destinations', { token: api_key })).status, 200);
      assert.equal(stack.core.store.dialect, 'postgres');
      assert.deepEqual(readdirSync(stack.config.VOICEOI_DATA_DIR), []);
    } finally {
      await stack.stop();
    }
  });
});
