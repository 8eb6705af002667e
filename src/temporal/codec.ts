import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, randomFillSync, type KeyObject } from 'node:crypto';
import type { Payload, PayloadCodec, SerializationContext } from '@temporalio/common';
// Resolvable because @temporalio/common pins it as an exact dependency; it owns the Payload wire format.
import proto from '@temporalio/proto';
import { z } from 'zod';
import { LruCache } from '../../sandboxes/lru-cache.ts';
import { KeyRingError, type KeyRing } from '../crypto/keyring.js';

// Encrypts every Temporal payload (workflow/activity inputs and results, i.e. the audit log) so that
// history at rest never holds event data in clear. The whole serialized Payload (metadata + data) is
// encrypted, so even the original encoding/type hints are hidden.

const ProtoPayload = proto.temporal.api.common.v1.Payload;

const ENCODING_ENCRYPTED = 'binary/encrypted';
const METADATA_KEY_ID = 'encryption-key-id';
// Payloads of a call's deliveries carry this instead: the id of the call's data key (src/erasure/).
const METADATA_CALL_KEY_ID = 'encryption-call-key-id';
const CALL_KEY_ID = /^ck_[A-Za-z0-9_-]{1,40}$/;
const CURRENT_KEYS_KEPT = 1024;

// Format 2 (written now): data = 2 | salt(16) | iv(12) | ciphertext | tag(16).
// The AES key is derived with HKDF from the master key and a random salt, and one derived key serves
// at most 2^24 payloads (random 96-bit IVs keep GCM safe to ~2^32 messages per key, NIST SP 800-38D)
// before the encoder draws a new salt. Deriving once per salt instead of once per payload matters:
// HKDF was ≈ 1.5 ms of CPU per delivery at 20 events/s (CPU profile, bench/README.md). Decoding
// keeps the derived keys of recent salts in a small cache.
// The IV of each payload is 4 bytes of the derived key's use count (big-endian, < 2^24) followed by 8
// random bytes. The count alone makes every IV under a key distinct — guaranteed, not only likely:
// a derived key is used by one encoder only (its salt is 128 random bits drawn by that encoder) and the
// encoder counts every payload it encrypts, then draws a new salt before the count would need a 5th
// byte (NIST SP 800-38D §8.2.1, the deterministic construction). The random part is taken from a pool
// filled by one randomFillSync per IV_POOL_SIZE payloads, each pool byte going into one IV only: a
// randomBytes(12) per payload was half of the codec's CPU (≈ 8 µs of 15, bench/hot-path.ts).
// Format 1 (until 2026-11-27, still read): data = 1 | seed(32) | ciphertext | tag(16), key and IV
// both derived from the seed, one HKDF per payload.
// The HKDF info label separates these keys from the key ring's direct use of the master key.
const FORMAT_PER_PAYLOAD_SEED = 1;
const FORMAT = 2;
const SEED_LEN = 32;
const SALT_LEN = 16;
const IV_LEN = 12;
const TAG_LEN = 16;
const HKDF_INFO = 'voiceoi/temporal-payload/v1';
const IV_POOL_SIZE = 256;
const PAYLOADS_PER_DERIVED_KEY = 2 ** 24;
const DERIVED_KEYS_CACHED = 256;
const KID = /^[A-Za-z0-9_-]{1,32}$/;

const utf8 = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | null | undefined): string | undefined =>
  b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8') : undefined;

const hkdf = (master: Buffer, salt: Uint8Array, length: number): Buffer => Buffer.from(hkdfSync('sha256', master, salt, HKDF_INFO, length));

// The kid and format are authenticated: a payload cannot be relabelled to another key id or format.
const aadFor = (kid: string, format: number) => utf8(`${HKDF_INFO}.${format}.${kid}`);

interface DerivedKey {
  kid: string;
  /** FORMAT | salt: the start of every payload encrypted with this key. */
  prefix: Buffer;
  aad: Uint8Array;
  key: KeyObject;
  uses: number;
}

function createCipherState() {
  // The derived key in use per source key (a master key id, or `call:<call key id>`).
  const current = new LruCache<string, DerivedKey>(CURRENT_KEYS_KEPT);
  const cache = new LruCache<string, KeyObject>(DERIVED_KEYS_CACHED);

  const pool = Buffer.alloc(IV_POOL_SIZE * IV_LEN);
  let poolAt = pool.length;

  const derived = (kid: string, master: Buffer, salt: Buffer): KeyObject => {
    const id = `${kid}.${salt.toString('hex')}`;
    let key = cache.get(id);
    if (!key) {
      key = createSecretKey(hkdf(master, salt, 32));
      cache.set(id, key);
    }
    return key;
  };

  return {
    /** The derived key for the next payload under `kid`: the current one, or a new salt after 2^24 uses. */
    forEncryption(kid: string, master: () => Buffer): DerivedKey {
      let key = current.get(kid);
      if (!key || key.uses >= PAYLOADS_PER_DERIVED_KEY) {
        const salt = randomBytes(SALT_LEN);
        key = { kid, prefix: Buffer.concat([Uint8Array.of(FORMAT), salt]), aad: aadFor(kid, FORMAT), key: derived(kid, master(), salt), uses: 0 };
        current.set(kid, key);
      }
      key.uses++;
      return key;
    },
    /** Forgets what was derived from an erased call key. */
    forget(kid: string): void {
      current.delete(kid);
      for (const id of cache.keys()) if (id.startsWith(`${kid}.`)) cache.delete(id);
    },
    /** The IV for the `uses`-th payload of a derived key (see the top of this file). Copy it before the next call. */
    iv(uses: number): Buffer {
      if (poolAt === pool.length) {
        randomFillSync(pool);
        poolAt = 0;
      }
      const iv = pool.subarray(poolAt, (poolAt += IV_LEN));
      iv.writeUInt32BE(uses, 0);
      return iv;
    },
    forDecryption: derived,
  };
}
type CipherState = ReturnType<typeof createCipherState>;

/** A call key as the codec uses it; the kid in the AAD (`call:<id>`) cannot collide with a master key id (no colon allowed there). */
const callKid = (id: string) => `call:${id}`;

function encryptPayload(state: CipherState, payload: Payload, source: { kid: string; master: () => Buffer }, metadata: Record<string, Uint8Array>): Payload {
  const { prefix, aad, key, uses } = state.forEncryption(source.kid, source.master);
  const iv = state.iv(uses);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LEN });
  cipher.setAAD(aad);
  const plain = ProtoPayload.encode(payload).finish();
  const ciphertext = cipher.update(plain);
  cipher.final(); // GCM: no output, but it computes the tag
  const data = Buffer.concat([prefix, iv, ciphertext, cipher.getAuthTag()]);
  return { metadata: { encoding: utf8(ENCODING_ENCRYPTED), ...metadata }, data };
}

function decryptPayload(state: CipherState, payload: Payload, kid: string, master: Buffer): Payload {
  // A view, not a copy: only read here.
  const d = payload.data ?? new Uint8Array();
  const data = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  const format = data[0] ?? 0;
  const header = format === FORMAT ? 1 + SALT_LEN + IV_LEN : format === FORMAT_PER_PAYLOAD_SEED ? 1 + SEED_LEN : undefined;
  if (header === undefined || data.length < header + TAG_LEN) {
    throw new KeyRingError('malformed', `encrypted Temporal payload (key id "${kid}") is truncated or of an unknown format`, kid);
  }
  let plain: Buffer;
  try {
    let key: KeyObject | Buffer;
    let iv: Buffer;
    if (format === FORMAT) {
      key = state.forDecryption(kid, master, data.subarray(1, 1 + SALT_LEN));
      iv = data.subarray(1 + SALT_LEN, header);
    } else {
      const okm = hkdf(master, data.subarray(1, header), 44);
      key = okm.subarray(0, 32);
      iv = okm.subarray(32);
    }
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LEN });
    decipher.setAAD(aadFor(kid, format));
    decipher.setAuthTag(data.subarray(data.length - TAG_LEN));
    plain = decipher.update(data.subarray(header, data.length - TAG_LEN));
    decipher.final(); // throws unless the tag authenticates: nothing is decoded before that
  } catch {
    throw new KeyRingError('decrypt_failed', `encrypted Temporal payload (key id "${kid}") failed authentication`, kid);
  }
  return ProtoPayload.decode(plain);
}

/**
 * A payload without `encoding: binary/encrypted`, refused by the worker's and the API's codec. The
 * product encrypts every payload it writes (it always has), so a plaintext one was written by
 * someone else: e.g. a workflow started straight at the Temporal frontend without this codec. AES-GCM
 * authenticates what the product wrote; refusing the rest is what makes the worker act only on
 * inputs the product made. Decoding throws, so the SDK fails the workflow task with this message.
 */
export class UnencryptedPayloadError extends Error {
  readonly code = 'unencrypted_payload';
  constructor(encoding: string | undefined) {
    super(
      `refused a Temporal payload that is not encrypted (encoding ${encoding === undefined ? 'missing' : JSON.stringify(encoding.slice(0, 64))}): ` +
        'VoiceOI Hooks acts only on payloads it encrypted itself; was this workflow started, signalled or queried without the VoiceOI codec?',
    );
    this.name = 'UnencryptedPayloadError';
  }
}

export interface EncryptionCodecOptions {
  /**
   * Hand payloads not marked encrypted back untouched instead of refusing them. Only for the codec
   * endpoint, which shows history to people (the Temporal UI sends every payload it displays,
   * including the server's own json/plain ones); never for anything that acts on a payload.
   */
  passPlaintext?: boolean;
}

/**
 * Where the per-call data keys come from (src/erasure/call-keys.ts). A delivery of an event with a
 * `call_id` is encrypted under its call's key, found from the workflow id the SDK passes as the
 * payload's serialization context; every other payload under the master key ring.
 */
export interface CallKeySource {
  /**
   * The call key the workflow's payloads are encrypted under; undefined: not a call's (the master
   * key ring). Throws KeyRingError `erased` when the call's key was erased: nothing is written for it.
   */
  forWorkflow(workflowId: string): Promise<{ id: string; key: Buffer } | undefined>;
  /** The call key of that id; undefined once it was erased. */
  key(id: string): Promise<Buffer | undefined>;
}

/** What the codec endpoint shows for a payload whose call key was erased (json/plain, so the Temporal UI shows it). */
export const erasedPlaceholder = (keyId: string): Payload => ({
  metadata: { encoding: utf8('json/plain') },
  data: utf8(JSON.stringify({ erased: true, call_key_id: keyId, message: 'erased: this call’s data key was destroyed' })),
});

export interface CallAwareCodec extends PayloadCodec {
  /** Drops what this process derived from an erased call key. */
  forget(callKeyId: string): void;
}

export function createEncryptionCodec(keyRing: KeyRing, opts: EncryptionCodecOptions & { callKeys?: CallKeySource } = {}): CallAwareCodec {
  const state = createCipherState();
  const plaintext = (p: Payload): Payload => {
    if (opts.passPlaintext) return p;
    throw new UnencryptedPayloadError(text(p.metadata?.encoding));
  };
  const ring = () => {
    const kid = keyRing.currentKeyId;
    return { source: { kid, master: () => keyRing.key(kid)! }, metadata: { [METADATA_KEY_ID]: utf8(kid) } };
  };
  const sourceFor = async (context: SerializationContext | undefined) => {
    const workflowId = context?.workflowId;
    const call = workflowId && opts.callKeys ? await opts.callKeys.forWorkflow(workflowId) : undefined;
    if (!call) return ring();
    return { source: { kid: callKid(call.id), master: () => call.key }, metadata: { [METADATA_CALL_KEY_ID]: utf8(call.id) } };
  };
  const decodeOne = async (p: Payload): Promise<Payload> => {
    if (text(p.metadata?.encoding) !== ENCODING_ENCRYPTED) return plaintext(p);
    const callKeyId = text(p.metadata?.[METADATA_CALL_KEY_ID]);
    if (callKeyId !== undefined) {
      if (!CALL_KEY_ID.test(callKeyId)) throw new KeyRingError('malformed', `encrypted Temporal payload has an invalid "${METADATA_CALL_KEY_ID}" metadata`);
      const key = await opts.callKeys?.key(callKeyId);
      if (!key) {
        if (opts.passPlaintext) return erasedPlaceholder(callKeyId);
        throw new KeyRingError('erased', `Temporal payload is encrypted with call key "${callKeyId}", which was erased (or is not known here)`, callKeyId);
      }
      return decryptPayload(state, p, callKid(callKeyId), key);
    }
    const kid = text(p.metadata?.[METADATA_KEY_ID]);
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
    return decryptPayload(state, p, kid, master);
  };
  return {
    async encode(payloads, context) {
      if (payloads.length === 0) return payloads;
      const { source, metadata } = await sourceFor(context);
      return payloads.map((p) => encryptPayload(state, p, source, metadata));
    },
    async decode(payloads) {
      // The common case (no call key in the batch) stays synchronous per payload.
      return Promise.all(payloads.map(decodeOne));
    },
    forget(callKeyId) {
      state.forget(callKid(callKeyId));
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
