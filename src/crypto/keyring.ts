import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';

// Master key ring for everything encrypted at rest (connection secrets, signing secrets) and, through
// key(), for the Temporal payload codec. Key material never appears in errors, logs or inspect output.

export interface KeyRing {
  readonly currentKeyId: string;
  /** AES-256-GCM; `aad` binds the ciphertext to the record's identity (e.g. "destination:<id>:signing_secret"). */
  encrypt(plaintext: string | Uint8Array, aad: string): string;
  decrypt(ciphertext: string, aad: string): Buffer;
  decryptString(ciphertext: string, aad: string): string;
  isCurrent(ciphertext: string): boolean;
  /** raw access for the payload codec */
  key(kid: string): Buffer | undefined;
}

/** `invalid_config`: VOICEOI_MASTER_KEYS or the key file is unusable (thrown by loadKeyRing only). */
/** `erased`: a call's data key was destroyed (src/erasure/): its payloads can never be read again. */
export type KeyRingErrorCode = 'unknown_key' | 'decrypt_failed' | 'malformed' | 'invalid_config' | 'erased';

export class KeyRingError extends Error {
  readonly code: KeyRingErrorCode;
  /** Set for `unknown_key` (and when the key id is known), so callers can report which key is missing. */
  readonly keyId?: string;
  constructor(code: KeyRingErrorCode, message: string, keyId?: string) {
    super(message);
    this.name = 'KeyRingError';
    this.code = code;
    if (keyId !== undefined) this.keyId = keyId;
  }
}

const KID = /^[A-Za-z0-9_-]{1,32}$/;
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const B64URL = /^[A-Za-z0-9_-]+$/;
const IV_LEN = 12;
const TAG_LEN = 16;
const VERSION = 'v1';
const ENV = 'VOICEOI_MASTER_KEYS';
const KEY_FILE = 'master-keys.json';

const invalid = (msg: string) => new KeyRingError('invalid_config', msg);

/** Validates one key. Never echoes a rejected kid or key: a swapped "<key>:<kid>" would leak the key. */
function parseKey(kid: string, b64: string, where: string): [string, Buffer] {
  if (!KID.test(kid)) {
    throw invalid(`${where}: key id must match [A-Za-z0-9_-]{1,32} (got ${kid.length} characters)`);
  }
  if (!B64.test(b64)) throw invalid(`${where} (key id "${kid}"): key is not valid base64`);
  const key = Buffer.from(b64, 'base64');
  // Canonical check: Buffer.from silently drops trailing bits, so a mistyped key could still "decode".
  if (key.toString('base64').replace(/=+$/, '') !== b64.replace(/=+$/, '')) {
    throw invalid(`${where} (key id "${kid}"): key is not valid base64`);
  }
  if (key.length !== 32) {
    throw invalid(`${where} (key id "${kid}"): key must be exactly 32 bytes (openssl rand -base64 32), got ${key.length}`);
  }
  return [kid, key];
}

function buildMap(entries: Array<[string, Buffer]>, source: string): Map<string, Buffer> {
  if (entries.length === 0) throw invalid(`${source}: no keys`);
  const keys = new Map<string, Buffer>();
  for (const [kid, key] of entries) {
    if (keys.has(kid)) throw invalid(`${source}: key id "${kid}" appears more than once`);
    keys.set(kid, key);
  }
  return keys;
}

/**
 * VOICEOI_MASTER_KEYS = "<kid>:<base64 32 bytes>,<kid>:<base64 32 bytes>,..."
 * The LAST entry is the current key (used for every new encryption); earlier ones only decrypt.
 * Rotation = append a new entry, restart, let records re-encrypt (isCurrent() === false), and remove an
 * old key only once nothing encrypted with it remains (including Temporal history within retention).
 */
function parseEnv(value: string): Map<string, Buffer> {
  if (value.trim() === '') {
    // Refuse rather than fall back to the key file: a missing secret in one replica would otherwise
    // silently give it its own key, and its data would be unreadable everywhere else.
    throw invalid(`${ENV} is set but empty; unset it to use <dataDir>/${KEY_FILE}`);
  }
  return buildMap(
    value.split(',').map((raw, i) => {
      const entry = raw.trim();
      const where = `${ENV} entry ${i + 1}`;
      if (entry === '') throw invalid(`${where} is empty (stray comma?)`);
      const colon = entry.indexOf(':');
      if (colon < 0) throw invalid(`${where} is not "<kid>:<base64 key>"`);
      return parseKey(entry.slice(0, colon), entry.slice(colon + 1), where);
    }),
    ENV,
  );
}

// Same "last key is current" rule as the env, so an operator can rotate by appending here too.
const keyFileSchema = z.object({
  version: z.literal(1),
  keys: z.array(z.object({ id: z.string(), key: z.string(), created_at: z.string().optional() })),
});

function readKeyFile(file: string): Map<string, Buffer> {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  let text: string;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw invalid(`${file} is not a regular file`);
    // Refuse (like OpenSSH does for private keys) instead of silently chmod-ing: we create this file
    // 0600, so looser bits mean someone else changed it and the key may already have been read. The
    // operator has to look, fix it, and decide whether to rotate. POSIX mode bits are meaningless on Windows.
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8);
      throw invalid(`${file} has mode 0${mode}, must be 0600 (chmod 600 '${file}'; consider rotating the key)`);
    }
    text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Not the SyntaxError's message: V8 quotes a slice of the input, i.e. possibly the key.
    throw invalid(`${file} is not valid JSON`);
  }
  const parsed = keyFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`${file}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return buildMap(
    parsed.data.keys.map((k, i) => parseKey(k.id, k.key, `${file} keys[${i}]`)),
    file,
  );
}

/** Creates the key file exactly once, even when api and worker processes start together. */
function createKeyFile(dataDir: string, file: string): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const doc = {
    version: 1,
    keys: [{ id: `k-${day}-${randomBytes(3).toString('hex')}`, key: randomBytes(32).toString('base64'), created_at: new Date().toISOString() }],
  };
  // Write a complete, fsynced temp file, then link() it into place: link fails with EEXIST if another
  // process won the race, so nobody ever reads a half-written file or overwrites a key in use.
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, JSON.stringify(doc, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.unlinkSync(tmp);
  }
}

function aadFor(kid: string, aad: string): Buffer {
  // The header is authenticated too, so a ciphertext cannot be relabelled under another version or kid.
  return Buffer.from(`${VERSION}.${kid}.${aad}`, 'utf8');
}

class AesGcmKeyRing implements KeyRing {
  // ES private field: invisible to JSON.stringify, util.inspect and loggers.
  readonly #keys: Map<string, Buffer>;
  readonly currentKeyId: string;

  constructor(keys: Map<string, Buffer>) {
    this.#keys = keys;
    this.currentKeyId = [...keys.keys()].at(-1)!;
  }

  encrypt(plaintext: string | Uint8Array, aad: string): string {
    // An empty AAD would silently drop the record binding; that is always a caller bug.
    if (typeof aad !== 'string' || aad === '') throw new TypeError('KeyRing.encrypt: aad must be a non-empty string');
    const kid = this.currentKeyId;
    const iv = randomBytes(IV_LEN);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(kid)!, iv, { authTagLength: TAG_LEN });
    cipher.setAAD(aadFor(kid, aad));
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const body = Buffer.concat([iv, cipher.update(data), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${kid}.${body.toString('base64url')}`;
  }

  decrypt(ciphertext: string, aad: string): Buffer {
    const parts = typeof ciphertext === 'string' ? ciphertext.split('.') : [];
    const [version, kid, b64] = parts;
    if (parts.length !== 3 || version !== VERSION || !KID.test(kid!) || !B64URL.test(b64!)) {
      throw new KeyRingError('malformed', `ciphertext is not in the "${VERSION}.<kid>.<base64url>" form`);
    }
    const key = this.#keys.get(kid!);
    if (!key) throw new KeyRingError('unknown_key', `ciphertext uses key id "${kid}", which is not in the key ring`, kid);
    const raw = Buffer.from(b64!, 'base64url');
    if (raw.length < IV_LEN + TAG_LEN || raw.toString('base64url') !== b64) {
      throw new KeyRingError('malformed', 'ciphertext body is truncated or not canonical base64url', kid);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_LEN), { authTagLength: TAG_LEN });
      decipher.setAuthTag(raw.subarray(raw.length - TAG_LEN));
      decipher.setAAD(aadFor(kid!, aad));
      return Buffer.concat([decipher.update(raw.subarray(IV_LEN, raw.length - TAG_LEN)), decipher.final()]);
    } catch {
      throw new KeyRingError('decrypt_failed', `ciphertext (key id "${kid}") failed authentication: tampered, or wrong aad`, kid);
    }
  }

  decryptString(ciphertext: string, aad: string): string {
    return this.decrypt(ciphertext, aad).toString('utf8');
  }

  isCurrent(ciphertext: string): boolean {
    return typeof ciphertext === 'string' && ciphertext.startsWith(`${VERSION}.${this.currentKeyId}.`);
  }

  key(kid: string): Buffer | undefined {
    const key = this.#keys.get(kid);
    return key && Buffer.from(key); // a copy: callers cannot corrupt the ring
  }

  toJSON(): object {
    return { currentKeyId: this.currentKeyId, keyIds: [...this.#keys.keys()] };
  }
}

/**
 * `masterKeys` (VOICEOI_MASTER_KEYS) wins when set, and the key file is then ignored. When unset, keys
 * come from `<dataDir>/master-keys.json`, generated with one random key on first use.
 */
export function loadKeyRing(opts: { masterKeys?: string; dataDir: string }): KeyRing {
  if (opts.masterKeys !== undefined) return new AesGcmKeyRing(parseEnv(opts.masterKeys));
  const file = path.join(opts.dataDir, KEY_FILE);
  if (!fs.existsSync(file)) createKeyFile(opts.dataDir, file);
  return new AesGcmKeyRing(readKeyFile(file));
}
