import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { CallStore } from '../store/calls.ts';

// For anything the control plane stores for a call outside Temporal history (pull-stream messages,
// issue 20): sealed under the call's data key, so the same erasure makes it unreadable.
// Format: v1.<call key id>.<base64url iv(12) | ciphertext | tag(16)>, the AAD binding the record.

const IV_LEN = 12;
const TAG_LEN = 16;

export interface CallSeal {
  /** Encrypts under the call's current key (created on first use). `aad` names the record, e.g. "message:<id>". */
  seal(accountId: string, callId: string, plaintext: string | Uint8Array, aad: string): Promise<string>;
  /** The plaintext, or undefined once the call's key was erased. */
  open(sealed: string, aad: string): Promise<Buffer | undefined>;
}

export function createCallSeal(calls: Pick<CallStore, 'keyFor' | 'openKey'>): CallSeal {
  return {
    async seal(accountId, callId, plaintext, aad) {
      const keyId = await calls.keyFor(accountId, callId);
      const key = await calls.openKey(keyId, { forEncryption: true });
      if (!key) throw new Error(`call key ${keyId} was erased while sealing`);
      const iv = randomBytes(IV_LEN);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LEN });
      cipher.setAAD(Buffer.from(`${keyId}.${aad}`));
      const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
      return `v1.${keyId}.${Buffer.concat([iv, cipher.update(data), cipher.final(), cipher.getAuthTag()]).toString('base64url')}`;
    },
    async open(sealed, aad) {
      const [version, keyId, body] = sealed.split('.');
      if (version !== 'v1' || !keyId || !body) throw new Error('not a call-sealed value');
      const key = await calls.openKey(keyId);
      if (!key) return undefined;
      const raw = Buffer.from(body, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_LEN), { authTagLength: TAG_LEN });
      decipher.setAAD(Buffer.from(`${keyId}.${aad}`));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_LEN));
      return Buffer.concat([decipher.update(raw.subarray(IV_LEN, raw.length - TAG_LEN)), decipher.final()]);
    },
  };
}
