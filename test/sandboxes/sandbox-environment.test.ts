// The sandbox process holds no secret of the host: its environment is an explicit minimal one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { assertStillServes, useEngine } from './engine-fixture.ts';

const SECRETS = {
  VOICEOI_ADMIN_TOKEN: 'adm_sandbox-env-test-token',
  VOICEOI_MASTER_KEYS: 'k1:c2FuZGJveC1lbnYtdGVzdC1tYXN0ZXIta2V5LTMyYg==',
  VOICEOI_OAUTH2_PROVIDERS: JSON.stringify([{ id: 'crm', client_id: 'c', client_secret: 'sandbox-env-test-client-secret' }]),
  DATABASE_PASSWORD: 'sandbox-env-test-db-password',
};
// Set before the engine (and so its sandbox process) starts.
Object.assign(process.env, SECRETS);

const ctx = useEngine();

function environOf(pid: number): Map<string, string> {
  const entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return new Map(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

test('the real sandbox process inherits none of the host environment\'s secrets', async () => {
  await assertStillServes(ctx.engine);
  const pid = ctx.engine.stats().sandboxPid;
  assert.ok(pid);
  const env = environOf(pid);
  // The right process: it got its own configuration this way.
  assert.ok(env.has('VOICEOI_SANDBOX_CONFIG'));
  for (const [name, value] of Object.entries(SECRETS)) {
    assert.equal(process.env[name], value, `the parent has ${name}`);
    assert.equal(env.has(name), false, `${name} reached the sandbox process`);
  }
  const raw = readFileSync(`/proc/${pid}/environ`, 'utf8');
  for (const value of Object.values(SECRETS)) assert.equal(raw.includes(value), false);
  // Only locale, time zone, temporary directory, its configuration and node's own IPC channel.
  const expected = /^(TZ|LANG|LC_ALL|TMPDIR|VOICEOI_SANDBOX_CONFIG|NODE_CHANNEL_FD|NODE_CHANNEL_SERIALIZATION_MODE)$/;
  assert.deepEqual([...env.keys()].filter((k) => !expected.test(k)), []);
});
