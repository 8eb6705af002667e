import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/** `hmac-sha256`: Standard Webhooks' symmetric `v1` (`whsec_` secret); `ed25519`: its asymmetric `v1a` (`whsk_`/`whpk_` keys). */
export type SignatureScheme = 'hmac-sha256' | 'ed25519';
export const signatureSchemes = ['hmac-sha256', 'ed25519'] as const satisfies readonly SignatureScheme[];

const HMAC_PREFIX = 'whsec_';
const PRIVATE_PREFIX = 'whsk_';
const PUBLIC_PREFIX = 'whpk_';
// An ed25519 private key is its 32-byte seed; node:crypto imports it as PKCS#8 with this fixed prefix.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
// And a public key as SPKI: this prefix, then the 32 raw bytes.
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

/** A new signing secret of the scheme: what the store encrypts. */
export function newSigningSecret(scheme: SignatureScheme): string {
  if (scheme === 'hmac-sha256') return `${HMAC_PREFIX}${randomBytes(32).toString('base64')}`;
  const der = generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' });
  return `${PRIVATE_PREFIX}${der.subarray(PKCS8_ED25519.length).toString('base64')}`;
}

const privateKeyOf = (secret: string): KeyObject =>
  createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, Buffer.from(secret.slice(PRIVATE_PREFIX.length), 'base64')]), format: 'der', type: 'pkcs8' });

/** The `whpk_` public key of a `whsk_` private key (what receivers verify with); undefined for an HMAC secret. */
export function publicKeyOf(secret: string): string | undefined {
  if (!secret.startsWith(PRIVATE_PREFIX)) return undefined;
  const spki = createPublicKey(privateKeyOf(secret)).export({ format: 'der', type: 'spki' });
  return `${PUBLIC_PREFIX}${spki.subarray(SPKI_ED25519.length).toString('base64')}`;
}

/** A `whpk_` key as node:crypto takes it, for receivers and tests: `crypto.verify(null, data, key, signature)`. */
export const importPublicKey = (publicKey: string): KeyObject =>
  createPublicKey({ key: Buffer.concat([SPKI_ED25519, Buffer.from(publicKey.slice(PUBLIC_PREFIX.length), 'base64')]), format: 'der', type: 'spki' });

/**
 * Standard Webhooks: one signature per secret, space-separated, of "id.timestamp.body":
 * `v1,<base64 HMAC-SHA256>` for a `whsec_` secret, `v1a,<base64 ed25519>` for a `whsk_` key. During a
 * rotation's grace the old and new secrets both sign, whatever their schemes.
 */
export function signWebhook(secrets: readonly string[], id: string, timestampS: number, body: string): string {
  const signed = `${id}.${timestampS}.${body}`;
  return secrets
    .map((secret) => {
      if (secret.startsWith(PRIVATE_PREFIX)) return `v1a,${sign(null, Buffer.from(signed), privateKeyOf(secret)).toString('base64')}`;
      const key = Buffer.from(secret.startsWith(HMAC_PREFIX) ? secret.slice(HMAC_PREFIX.length) : secret, 'base64');
      return `v1,${createHmac('sha256', key).update(signed).digest('base64')}`;
    })
    .join(' ');
}
