import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyRingError, loadKeyRing } from '../../src/crypto/keyring.js';

const k1 = randomBytes(32).toString('base64');
const k2 = randomBytes(32).toString('base64');
const dirs: string[] = [];
const tmpDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'voiceoi-keyring-'));
  dirs.push(dir);
  return dir;
};
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const ring = (masterKeys: string) => loadKeyRing({ masterKeys, dataDir: '/nonexistent' });
const AAD = 'destination:d_1:signing_secret';

function throwsCode(fn: () => unknown, code: string) {
  assert.throws(fn, (e: unknown) => e instanceof KeyRingError && e.code === code);
}

test('round trip of strings and bytes, fresh IV each time', () => {
  const r = ring(`k1:${k1}`);
  const a = r.encrypt('whsec_abc', AAD);
  const b = r.encrypt('whsec_abc', AAD);
  assert.notEqual(a, b);
  assert.match(a, /^v1\.k1\.[A-Za-z0-9_-]+$/);
  assert.equal(r.decryptString(a, AAD), 'whsec_abc');
  assert.deepEqual(r.decrypt(r.encrypt(Uint8Array.of(0, 1, 255), AAD), AAD), Buffer.from([0, 1, 255]));
  assert.equal(r.decryptString(r.encrypt('', AAD), AAD), '');
  assert.ok(!a.includes('whsec_abc'));
});

test('aad mismatch fails', () => {
  const r = ring(`k1:${k1}`);
  throwsCode(() => r.decrypt(r.encrypt('s', AAD), 'destination:d_2:signing_secret'), 'decrypt_failed');
  assert.throws(() => r.encrypt('s', ''), TypeError);
});

test('tampered ciphertext or tag fails', () => {
  const r = ring(`k1:${k1}`);
  const [v, kid, body] = r.encrypt('secret value', AAD).split('.');
  for (const at of [0, 14, -1]) { // iv, ciphertext, last byte of the tag
    const raw = Buffer.from(body!, 'base64url');
    raw[at < 0 ? raw.length + at : at]! ^= 0x01;
    throwsCode(() => r.decrypt(`${v}.${kid}.${raw.toString('base64url')}`, AAD), 'decrypt_failed');
  }
});

test('truncated tag fails (never accepts a short tag)', () => {
  const r = ring(`k1:${k1}`);
  const [v, kid, body] = r.encrypt('secret value', AAD).split('.');
  const raw = Buffer.from(body!, 'base64url');
  for (const cut of [1, 4, 12]) {
    throwsCode(() => r.decrypt(`${v}.${kid}.${raw.subarray(0, raw.length - cut).toString('base64url')}`, AAD), 'decrypt_failed');
  }
  throwsCode(() => r.decrypt(`${v}.${kid}.${raw.subarray(0, 27).toString('base64url')}`, AAD), 'malformed');
});

test('malformed and unknown key ids', () => {
  const r = ring(`k1:${k1}`);
  const ct = r.encrypt('x', AAD);
  for (const bad of ['', 'v1.k1', 'v2' + ct.slice(2), ct + '.x', ct.replace('v1.k1.', 'v1.k!.'), ct + '*']) {
    throwsCode(() => r.decrypt(bad, AAD), 'malformed');
  }
  assert.throws(
    () => ring(`k9:${k2}`).decrypt(ct, AAD),
    (e: unknown) => e instanceof KeyRingError && e.code === 'unknown_key' && e.keyId === 'k1' && /"k1"/.test(e.message),
  );
});

test('rotation: last key is current, old ciphertext still decrypts', () => {
  const old = ring(`k1:${k1}`);
  const ct = old.encrypt('s1', AAD);
  assert.equal(old.isCurrent(ct), true);
  const rotated = ring(`k1:${k1}, k2:${k2}`);
  assert.equal(rotated.currentKeyId, 'k2');
  assert.equal(rotated.decryptString(ct, AAD), 's1');
  assert.equal(rotated.isCurrent(ct), false);
  const fresh = rotated.encrypt('s1', AAD);
  assert.match(fresh, /^v1\.k2\./);
  assert.equal(rotated.isCurrent(fresh), true);
  assert.equal(rotated.isCurrent('garbage'), false);
  // relabelling an old ciphertext with the current kid does not pass
  throwsCode(() => ring(`k1:${k1},k2:${k1}`).decrypt(ct.replace('v1.k1.', 'v1.k2.'), AAD), 'decrypt_failed');
});

test('key() returns a copy; key material never shows in JSON or inspect', () => {
  const r = ring(`k1:${k1}`);
  const k = r.key('k1')!;
  assert.equal(k.toString('base64'), k1);
  k.fill(0);
  assert.equal(r.key('k1')!.toString('base64'), k1);
  assert.equal(r.key('nope'), undefined);
  const hex = Buffer.from(k1, 'base64').toString('hex');
  for (const s of [JSON.stringify(r), inspect(r, { showHidden: true, depth: 5 })]) {
    assert.ok(!s.includes(k1) && !s.includes(hex), s);
  }
});

test('env parsing errors are precise and never echo key material', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /set but empty/],
    ['   ', /set but empty/],
    [`k1:${k1},`, /entry 2 is empty/],
    [k1, /entry 1 is not "<kid>:<base64 key>"/],
    [`${k1.replace(/=+$/, '').replace(/[+/]/g, 'a')}:${k2}`, /entry 1: key id must match/],
    [`bad.kid:${k1}`, /entry 1: key id must match .*\(got 7 characters\)/],
    [`${'a'.repeat(33)}:${k1}`, /got 33 characters/],
    [`k1:${randomBytes(16).toString('base64')}`, /entry 1 \(key id "k1"\): key must be exactly 32 bytes .*got 16/],
    [`k1:${randomBytes(33).toString('base64')}`, /got 33/],
    ['k1:not base64!', /key is not valid base64/],
    [`k1:${k1.slice(0, 42)}B=`, /key is not valid base64|exactly 32 bytes/],
    [`k1:${k1},k1:${k2}`, /key id "k1" appears more than once/],
  ];
  for (const [value, re] of cases) {
    assert.throws(() => ring(value), (e: unknown) => {
      assert.ok(e instanceof KeyRingError && e.code === 'invalid_config', String(e));
      assert.match(e.message, re);
      assert.ok(!e.message.includes(k1) && !e.message.includes(k2), e.message);
      return true;
    }, value);
  }
  // unpadded standard base64 and surrounding whitespace are accepted
  assert.equal(ring(` k1:${k1.replace(/=+$/, '')} `).currentKeyId, 'k1');
});

test('key file: generated once with mode 0600 in a new directory, then reused', { skip: process.platform === 'win32' }, () => {
  const dataDir = path.join(tmpDir(), 'nested', 'data');
  const a = loadKeyRing({ dataDir });
  const file = path.join(dataDir, 'master-keys.json');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(dataDir), ['master-keys.json']); // temp file cleaned up
  const ct = a.encrypt('secret', AAD);
  const b = loadKeyRing({ dataDir });
  assert.equal(b.currentKeyId, a.currentKeyId);
  assert.equal(b.decryptString(ct, AAD), 'secret');
  // the env wins over the file when set
  assert.equal(loadKeyRing({ dataDir, masterKeys: `k1:${k1}` }).currentKeyId, 'k1');
});

test('key file: looser permissions are refused, not silently fixed', { skip: process.platform === 'win32' }, () => {
  const dataDir = tmpDir();
  loadKeyRing({ dataDir });
  const file = path.join(dataDir, 'master-keys.json');
  fs.chmodSync(file, 0o644);
  assert.throws(() => loadKeyRing({ dataDir }), (e: unknown) =>
    e instanceof KeyRingError && e.code === 'invalid_config' && /mode 0644, must be 0600/.test(e.message));
  assert.equal(fs.statSync(file).mode & 0o777, 0o644);
});

test('key file: appended key becomes current; bad JSON does not echo content', () => {
  const dataDir = tmpDir();
  const file = path.join(dataDir, 'master-keys.json');
  fs.writeFileSync(file, JSON.stringify({ version: 1, keys: [{ id: 'a', key: k1 }, { id: 'b', key: k2 }] }), { mode: 0o600 });
  assert.equal(loadKeyRing({ dataDir }).currentKeyId, 'b');
  fs.writeFileSync(file, `{"version":1,"keys":[{"id":"a","key":"${k1}"`);
  assert.throws(() => loadKeyRing({ dataDir }), (e: unknown) =>
    e instanceof KeyRingError && /is not valid JSON$/.test(e.message) && !e.message.includes(k1));
  fs.writeFileSync(file, JSON.stringify({ version: 1, keys: [] }));
  assert.throws(() => loadKeyRing({ dataDir }), /no keys/);
});

test('key file: processes starting together all end up with the same key', async () => {
  const dataDir = path.join(tmpDir(), 'data');
  const mod = new URL('../../src/crypto/keyring.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(mod)}).then((m) => process.stdout.write(m.loadKeyRing({ dataDir: ${JSON.stringify(dataDir)} }).currentKeyId))`;
  const run = () => new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', '-e', code], (err, out) => (err ? reject(err) : resolve(out))));
  const ids = await Promise.all(Array.from({ length: 4 }, run));
  assert.equal(new Set(ids).size, 1, ids.join());
  assert.deepEqual(fs.readdirSync(dataDir), ['master-keys.json']);
});
