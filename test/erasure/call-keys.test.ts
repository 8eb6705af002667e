import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DefaultPayloadConverter } from '@temporalio/common';
import { KeyRingError, loadKeyRing } from '../../src/crypto/keyring.ts';
import { createCallKeys } from '../../src/erasure/call-keys.ts';
import { createCallSeal } from '../../src/erasure/call-seal.ts';
import { createCallStore } from '../../src/store/calls.ts';
import { openDatabase } from '../../src/store/db.ts';
import { createEncryptionCodec } from '../../src/temporal/codec.ts';
import { testDatabase } from '../support/postgres.ts';

const k1 = `k1:${randomBytes(32).toString('base64')}`;
const k2 = `k2:${randomBytes(32).toString('base64')}`;
const ring = (keys: string) => loadKeyRing({ masterKeys: keys, dataDir: '/nonexistent' });
const converter = new DefaultPayloadConverter();
const str = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const SECRET = `+1-555-${randomBytes(3).toString('hex')}`;
const delivery = 'delivery:dst_1:evt_1';
const ctx = (workflowId: string) => ({ type: 'workflow' as const, namespace: 'default', workflowId });

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`call keys on ${dialect}`, () => {
    const withStore = async (fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<void>) => {
      const dir = mkdtempSync(join(tmpdir(), 'voiceoi-callkeys-'));
      const db = await openDatabase(await testDatabase(dialect, dir));
      try {
        await fn(db);
      } finally {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    };

    test('a delivery of a call is encrypted under the call key (from the serialization context); others under the ring; erased: refused, or a placeholder for people', () =>
      withStore(async (db) => {
        const keyRing = ring(k1);
        const calls = createCallStore({ db, keyRing });
        const keyId = await calls.keyFor('acc_1', 'call-1');
        await calls.recordDeliveries('acc_1', 'call-1', keyId, [delivery]);
        const codec = createEncryptionCodec(keyRing, { callKeys: createCallKeys({ calls }) });
        const display = createEncryptionCodec(keyRing, { passPlaintext: true, callKeys: createCallKeys({ calls, ttlMs: 0 }) });

        const [mine] = await codec.encode([converter.toPayload({ summary: SECRET })], ctx(delivery));
        assert.equal(str(mine!.metadata!['encryption-call-key-id']), keyId);
        assert.equal(mine!.metadata!['encryption-key-id'], undefined);
        const [hook] = await codec.encode([converter.toPayload({ summary: 'hook' })], ctx('delivery:dst_1:evt_hook'));
        assert.equal(str(hook!.metadata!['encryption-key-id']), 'k1', 'a delivery of no call: the ring');
        const [none] = await codec.encode([converter.toPayload({})]);
        assert.equal(str(none!.metadata!['encryption-key-id']), 'k1', 'no context: the ring');
        assert.deepEqual(converter.fromPayload((await display.decode([mine!]))[0]!), { summary: SECRET });

        const erasure = await calls.beginErasure('acc_1', 'call-1', 'account');
        assert.notEqual(await calls.keyFor('acc_1', 'call-1'), keyId, 'a later event of the call gets a new key');
        await calls.completeErasure(erasure, { deliveries: 1, cancelled: 0 });
        codec.forget(keyId);
        await assert.rejects(createEncryptionCodec(keyRing, { callKeys: createCallKeys({ calls }) }).decode([mine!]), (e: unknown) => e instanceof KeyRingError && e.code === 'erased');
        const [shown] = await display.decode([mine!]);
        assert.equal(str(shown!.metadata!.encoding), 'json/plain');
        assert.deepEqual(converter.fromPayload(shown!), { erased: true, call_key_id: keyId, message: 'erased: this call’s data key was destroyed' });
        await assert.rejects(createEncryptionCodec(keyRing, { callKeys: createCallKeys({ calls }) }).encode([converter.toPayload({})], ctx(delivery)), (e: unknown) => e instanceof KeyRingError && e.code === 'erased', 'nothing new is written for an erased call');
      }));

    test('master key rotation: a call key wrapped by the old master key opens and is rewrapped under the new one; call-sealed values open until the erasure', () =>
      withStore(async (db) => {
        const old = createCallStore({ db, keyRing: ring(k1) });
        const keyId = await old.keyFor('acc_1', 'call-2');
        const seal = createCallSeal(old);
        const sealed = await seal.seal('acc_1', 'call-2', SECRET, 'message:m1');
        assert.ok(!sealed.includes(SECRET));

        const rotated = createCallStore({ db, keyRing: ring(`${k1},${k2}`) });
        assert.equal((await createCallSeal(rotated).open(sealed, 'message:m1'))!.toString(), SECRET);
        const row = await db.selectFrom('call_keys').select('wrapped_key').where('id', '=', keyId).executeTakeFirstOrThrow();
        assert.match(row.wrapped_key, /^v1\.k2\./, 'rewrapped under the current master key');
        await assert.rejects(createCallSeal(rotated).open(sealed, 'message:m2'), 'bound to its record');

        await rotated.completeErasure(await rotated.beginErasure('acc_1', 'call-2', 'admin'), { deliveries: 0, cancelled: 0 });
        assert.equal(await createCallSeal(rotated).open(sealed, 'message:m1'), undefined);
      }));
  });
}
