import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DefaultPayloadConverter, type Payload } from '@temporalio/common';
import { KeyRingError, loadKeyRing } from '../../src/crypto/keyring.js';
import {
  createEncryptionCodec,
  decodePayloadsJSON,
  encodePayloadsJSON,
  PayloadsJSONError,
  UnencryptedPayloadError,
  type PayloadsJSON,
} from '../../src/temporal/codec.js';

const k1 = randomBytes(32).toString('base64');
const k2 = randomBytes(32).toString('base64');
const ring = (masterKeys: string) => loadKeyRing({ masterKeys, dataDir: '/nonexistent' });
const converter = new DefaultPayloadConverter();
const SECRET = 'lead-phone-+15551234567';
const event = { id: 'evt_1', type: 'call_completed', data: { call_id: 'c1', summary: SECRET } };
const str = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
const bytesOf = (m: Payload['metadata']) => Object.fromEntries(Object.entries(m ?? {}).map(([k, v]) => [k, Buffer.from(v)]));

test('round trip restores metadata and data exactly', async () => {
  const codec = createEncryptionCodec(ring(`k1:${k1}`));
  const typed = converter.toPayload(event);
  typed.metadata!.messageType = Buffer.from('voiceoi.CallCompleted'); // must not leak into the outer metadata
  const original = [typed, converter.toPayload(null), converter.toPayload(Uint8Array.of(1, 2))];
  const encoded = await codec.encode(original);
  assert.equal(encoded.length, 3);
  for (const p of encoded) {
    assert.equal(str(p.metadata!.encoding), 'binary/encrypted');
    assert.equal(str(p.metadata!['encryption-key-id']), 'k1');
    assert.deepEqual(Object.keys(p.metadata!).sort(), ['encoding', 'encryption-key-id']);
  }
  const decoded = await codec.decode(encoded);
  assert.deepEqual(converter.fromPayload(decoded[0]!), event);
  assert.equal(converter.fromPayload(decoded[1]!), null);
  assert.deepEqual([...converter.fromPayload<Uint8Array>(decoded[2]!)], [1, 2]);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(Buffer.from(decoded[i]!.data ?? []), Buffer.from(original[i]!.data ?? []));
    assert.deepEqual(bytesOf(decoded[i]!.metadata), bytesOf(original[i]!.metadata));
  }
  assert.deepEqual(await codec.encode([]), []);
});

test('encoded bytes contain neither the data nor the original metadata', async () => {
  const codec = createEncryptionCodec(ring(`k1:${k1}`));
  const [a] = await codec.encode([converter.toPayload(event)]);
  const [b] = await codec.encode([converter.toPayload(event)]);
  const bytes = Buffer.from(a!.data!);
  assert.equal(bytes.indexOf(SECRET), -1);
  assert.equal(bytes.indexOf('call_completed'), -1);
  assert.equal(bytes.indexOf('json/plain'), -1);
  assert.notDeepEqual(Buffer.from(b!.data!), bytes); // randomized
});

test('rotation: payloads under an old key still decode; new ones use the current key', async () => {
  const [old] = await createEncryptionCodec(ring(`k1:${k1}`)).encode([converter.toPayload(event)]);
  const rotated = createEncryptionCodec(ring(`k1:${k1},k2:${k2}`));
  assert.deepEqual(converter.fromPayload((await rotated.decode([old!]))[0]!), event);
  const [fresh] = await rotated.encode([converter.toPayload(event)]);
  assert.equal(str(fresh!.metadata!['encryption-key-id']), 'k2');
});

test('unknown key id: clear error naming it', async () => {
  const [p] = await createEncryptionCodec(ring(`k1:${k1}`)).encode([converter.toPayload(event)]);
  await assert.rejects(createEncryptionCodec(ring(`k2:${k2}`)).decode([p!]), (e: unknown) =>
    e instanceof KeyRingError && e.code === 'unknown_key' && e.keyId === 'k1' && /key id "k1"/.test(e.message));
});

test('tampered, truncated, relabelled or unmarked-key payloads fail', async () => {
  const codec = createEncryptionCodec(ring(`k1:${k1},k2:${k1}`)); // same bytes under two ids
  const [p] = await createEncryptionCodec(ring(`k1:${k1}`)).encode([converter.toPayload(event)]);
  const data = Buffer.from(p!.data!);
  const flip = Buffer.from(data);
  flip[flip.length - 1]! ^= 1;
  const bad: Array<[Payload, string]> = [
    [{ ...p, data: flip }, 'decrypt_failed'],
    [{ ...p, data: data.subarray(0, data.length - 4) }, 'decrypt_failed'],
    [{ ...p, data: data.subarray(0, 20) }, 'malformed'],
    [{ ...p, metadata: { ...p!.metadata, 'encryption-key-id': Buffer.from('k2') } }, 'decrypt_failed'],
    [{ ...p, metadata: { encoding: p!.metadata!.encoding! } }, 'malformed'],
  ];
  for (const [payload, code] of bad) {
    await assert.rejects(codec.decode([payload]), (e: unknown) => e instanceof KeyRingError && e.code === code, code);
  }
});

test('payloads not marked encrypted are refused with a clear error: the product encrypts everything it writes', async () => {
  const codec = createEncryptionCodec(ring(`k1:${k1}`));
  const [encrypted] = await codec.encode([converter.toPayload(event)]);
  const forged: Payload[] = [converter.toPayload(event), { data: Buffer.from('x') }, { metadata: { encoding: Buffer.from('binary/plain') }, data: Buffer.from('x') }];
  for (const p of forged) {
    await assert.rejects(codec.decode([encrypted!, p]), (e: unknown) =>
      e instanceof UnencryptedPayloadError && e.code === 'unencrypted_payload' && /not encrypted.*without the VoiceOI codec/.test(e.message));
  }
  await assert.rejects(codec.decode([converter.toPayload(event)]), /encoding "json\/plain"/);
});

test('the codec endpoint\'s codec (passPlaintext) hands plaintext payloads back untouched', async () => {
  const codec = createEncryptionCodec(ring(`k1:${k1}`), { passPlaintext: true });
  const plain = converter.toPayload(event);
  const [out] = await codec.decode([plain]);
  assert.equal(out, plain);
  const noMeta: Payload = { data: Buffer.from('x') };
  assert.equal((await codec.decode([noMeta]))[0], noMeta);
});

test('codec server JSON helpers: encode/decode in the Temporal UI shape', async () => {
  const codec = createEncryptionCodec(ring(`k1:${k1}`), { passPlaintext: true });
  const p = converter.toPayload(event);
  const body = {
    payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from(p.data!).toString('base64') }],
  };
  const encoded = await encodePayloadsJSON(codec, body);
  assert.equal(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString(), 'binary/encrypted');
  assert.ok(!Buffer.from(encoded.payloads[0]!.data, 'base64').includes(SECRET));
  // as the UI sends it: a JSON string, plus a payload with proto3-omitted fields
  const decoded = await decodePayloadsJSON(codec, JSON.stringify({ payloads: [...encoded.payloads, {}] }));
  assert.deepEqual(decoded, { payloads: [body.payloads[0], { metadata: {}, data: '' }] });
  assert.deepEqual(await decodePayloadsJSON(codec, { payloads: [] }), { payloads: [] });
});

test('codec server JSON helpers: precise errors for bad bodies', async () => {
  const codec = createEncryptionCodec(ring(`k1:${k1}`));
  const cases: Array<[unknown, RegExp]> = [
    ['{not json', /not valid JSON/],
    [{}, /^payloads: /],
    [{ payloads: [{ data: 'not base64!' }] }, /^payloads\.0\.data: must be base64/],
    [{ payloads: [{ metadata: { encoding: 5 } }] }, /^payloads\.0\.metadata\.encoding: /],
  ];
  for (const [body, re] of cases) {
    await assert.rejects(decodePayloadsJSON(codec, body), (e: unknown) => e instanceof PayloadsJSONError && re.test(e.message), String(re));
  }
});

test('one derived key serves consecutive payloads, each with its own IV; a rotated key gets a new salt', async () => {
  const codec = createEncryptionCodec(ring(`k1:${k1}`));
  const [a, b] = await codec.encode([converter.toPayload(event), converter.toPayload(event)]);
  const [da, db] = [Buffer.from(a!.data!), Buffer.from(b!.data!)];
  assert.equal(da[0], 2, 'format 2');
  assert.deepEqual(da.subarray(1, 17), db.subarray(1, 17), 'same salt');
  assert.notDeepEqual(da.subarray(17, 29), db.subarray(17, 29), 'fresh IV per payload');
  assert.notDeepEqual(da.subarray(29), db.subarray(29), 'same plaintext, different ciphertext');
  const [c] = await createEncryptionCodec(ring(`k1:${k1}`)).encode([converter.toPayload(event)]);
  assert.notDeepEqual(Buffer.from(c!.data!).subarray(1, 17), da.subarray(1, 17), 'another process draws another salt');
  const [r] = await createEncryptionCodec(ring(`k1:${k1},k2:${k2}`)).encode([converter.toPayload(event)]);
  assert.equal(str(r!.metadata!['encryption-key-id']), 'k2');
  const flipSalt = Buffer.from(da);
  flipSalt[3]! ^= 1;
  await assert.rejects(codec.decode([{ ...a, data: flipSalt }]), (e: unknown) => e instanceof KeyRingError && e.code === 'decrypt_failed');
});

test('every IV under one derived key is distinct: it starts with the key\'s use count, across refills of the random pool', async () => {
  const codec = createEncryptionCodec(ring(`k1:${k1}`));
  const n = 1000; // several refills of the pool of random IV bytes
  const encoded = await codec.encode(Array.from({ length: n }, () => converter.toPayload(event)));
  const ivs = encoded.map((p) => Buffer.from(p.data!).subarray(17, 29));
  assert.deepEqual(ivs.map((iv) => iv.readUInt32BE(0)), Array.from({ length: n }, (_, i) => i + 1));
  assert.equal(new Set(ivs.map((iv) => iv.subarray(4).toString('hex'))).size, n, 'the random part is never reused either');
  const decoded = await codec.decode(encoded);
  assert.deepEqual(decoded.map((p) => converter.fromPayload(p)), Array.from({ length: n }, () => event));
});

test('format 1 payloads (one HKDF per payload, written before 2026-11-27) still decode', async () => {
  const { FIXTURE_MASTER_KEYS } = await import('../fixtures/record-delivery-history.ts');
  const history = JSON.parse(readFileSync(new URL('../fixtures/delivery-history-current.json', import.meta.url), 'utf8'));
  const input: PayloadsJSON['payloads'][number] = history.events[0].workflowExecutionStartedEventAttributes.input.payloads[0];
  assert.equal(Buffer.from(input.data, 'base64')[0], 1, 'the fixture was written in format 1');
  // The history's proto3 JSON is the shape the Temporal UI sends to the codec endpoint.
  const decoded = await decodePayloadsJSON(createEncryptionCodec(ring(FIXTURE_MASTER_KEYS)), { payloads: [input] });
  const start = JSON.parse(Buffer.from(decoded.payloads[0]!.data, 'base64').toString('utf8')) as { event: { id: string } };
  assert.match(start.event.id, /\S/);
});
