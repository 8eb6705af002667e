import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
// Resolvable because @temporalio/common pins it as an exact dependency; it owns the Payload wire format.
import proto from '@temporalio/proto';
import { z } from 'zod';
import { KeyRingError, type KeyRing } from '../crypto/keyring.js';

// Encrypts every Temporal payload (workflow/activity inputs and results, i.e. the audit log) so that
// history at rest never holds event data in clear. The whole serialized Payload (metadata + data) is
// encrypted, so even the original encoding/type hints are hidden.

const ProtoPayload = proto.temporal.api.common.v1.Payload;

export const ENCODING_ENCRYPTED = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';

// data = FORMAT(1) | seed(32) | ciphertext | tag(16).
// Each payload gets its own AES key and IV, derived with HKDF from the master key and a random seed.
// With one key and random 96-bit IVs, GCM is only safe for ~2^32 messages (NIST SP 800-38D); a busy
// deployment writes several payloads per delivery and could reach that on a never-rotated key.
// The HKDF info label also separates these keys from the key ring's direct use of the master key.
const FORMAT = 1;
const SEED_LEN = 32;
const TAG_LEN = 16;
const HKDF_INFO = 'voiceoi/temporal-payload/v1';
const KID = /^[A-Za-z0-9_-]{1,32}$/;

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | null | undefined): string | undefined =>
  b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8') : undefined;

function cipherParams(master: Buffer, seed: Uint8Array): { key: Buffer; iv: Buffer } {
  const okm = Buffer.from(hkdfSync('sha256', master, seed, HKDF_INFO, 44));
  return { key: okm.subarray(0, 32), iv: okm.subarray(32) };
}

// The kid and format are authenticated: a payload cannot be relabelled to another key id or format.
const aadFor = (kid: string) => utf8(`${HKDF_INFO}.${FORMAT}.${kid}`);

function encryptPayload(keyRing: KeyRing, payload: Payload): Payload {
  const kid = keyRing.currentKeyId;
  const seed = randomBytes(SEED_LEN);
  const { key, iv } = cipherParams(keyRing.key(kid)!, seed);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LEN });
  cipher.setAAD(aadFor(kid));
  const plain = ProtoPayload.encode(payload).finish();
  const data = Buffer.concat([Uint8Array.of(FORMAT), seed, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return { metadata: { encoding: utf8(ENCODING_ENCRYPTED), [METADATA_KEY_ID]: utf8(kid) }, data };
}

function decryptPayload(keyRing: KeyRing, payload: Payload): Payload {
  const kid = text(payload.metadata?.[METADATA_KEY_ID]);
  if (kid === undefined || !KID.test(kid)) {
    throw new KeyRingError('malformed', `encrypted Temporal payload has a missing or invalid "${METADATA_KEY_ID}" metadata`);
  }
  const master = keyRing.key(kid);
  if (!master) {
    throw new KeyRingError(
      'unknown_key',
      `Temporal payload is encrypted with key id "${kid}", which is not in the key ring; ` +
        `add that key back to VOICEOI_MASTER_KEYS (before the current key) to read it`,
      kid,
    );
  }
  const data = Buffer.from(payload.data ?? new Uint8Array());
  if (data.length < 1 + SEED_LEN + TAG_LEN || data[0] !== FORMAT) {
    throw new KeyRingError('malformed', `encrypted Temporal payload (key id "${kid}") is truncated or of an unknown format`, kid);
  }
  let plain: Buffer;
  try {
    const { key, iv } = cipherParams(master, data.subarray(1, 1 + SEED_LEN));
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LEN });
    decipher.setAAD(aadFor(kid));
    decipher.setAuthTag(data.subarray(data.length - TAG_LEN));
    plain = Buffer.concat([decipher.update(data.subarray(1 + SEED_LEN, data.length - TAG_LEN)), decipher.final()]);
  } catch {
    throw new KeyRingError('decrypt_failed', `encrypted Temporal payload (key id "${kid}") failed authentication`, kid);
  }
  return ProtoPayload.decode(plain);
}

/** Payloads without `encoding: binary/encrypted` (e.g. history written before encryption was on) pass through. */
export function createEncryptionCodec(keyRing: KeyRing): PayloadCodec {
  return {
    async encode(payloads) {
      return payloads.map((p) => encryptPayload(keyRing, p));
    },
    async decode(payloads) {
      return payloads.map((p) => (text(p.metadata?.encoding) === ENCODING_ENCRYPTED ? decryptPayload(keyRing, p) : p));
    },
  };
}

// ---- Codec server (Temporal UI): JSON form of temporal.api.common.v1.Payloads, bytes as base64 ----

export interface PayloadJSON {
  metadata: Record<string, string>;
  data: string;
}
export interface PayloadsJSON {
  payloads: PayloadJSON[];
}

/** A request body that is not a Payloads JSON document: the route answers 400 with this message. */
export class PayloadsJSONError extends Error {
  readonly code = 'invalid_payloads';
  constructor(message: string) {
    super(message);
    this.name = 'PayloadsJSONError';
  }
}

// proto3 JSON accepts both base64 alphabets and omits empty fields, so metadata and data are optional.
const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
const bodySchema = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), base64).nullish(), data: base64.nullish() })),
});

function fromJSON(body: unknown): Payload[] {
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      throw new PayloadsJSONError('body is not valid JSON');
    }
  }
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PayloadsJSONError(`${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return parsed.data.payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  }));
}

const b64 = (b: Uint8Array | null | undefined): string =>
  b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64') : '';

function toJSON(payloads: Payload[]): PayloadsJSON {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
      data: b64(p.data),
    })),
  };
}

/** POST /codec/decode. Throws PayloadsJSONError (400) or KeyRingError (unknown key / tampered payload). */
export async function decodePayloadsJSON(codec: PayloadCodec, body: unknown): Promise<PayloadsJSON> {
  return toJSON(await codec.decode(fromJSON(body)));
}

/** POST /codec/encode. Throws PayloadsJSONError (400). */
export async function encodePayloadsJSON(codec: PayloadCodec, body: unknown): Promise<PayloadsJSON> {
  return toJSON(await codec.encode(fromJSON(body)));
}
