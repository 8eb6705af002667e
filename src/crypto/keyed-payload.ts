import { createHmac, hkdfSync } from 'node:crypto';
import type { KeyRing } from './keyring.ts';
import { safeEqual } from './safe-equal.ts';

// Small stateless values the API hands out and must recognise as its own (list cursors, stream
// tokens): `<base64url JSON>.<base64url HMAC-SHA256>`, keyed by a key derived (HKDF, per purpose)
// from a master key of the ring. The JSON names that key (`k`), so a value made before a rotation
// opens while its key is still in the ring. Any replica with the same ring opens it.

export type Opened = { ok: true; claims: Record<string, unknown> } | { ok: false; why: 'malformed' | 'forged' };

export interface KeyedPayloads {
  seal(claims: Record<string, unknown>): string;
  /** `malformed`: not of the form; `forged`: not made under a key of this ring for this purpose. */
  open(sealed: string): Opened;
}

/** `info` separates purposes: a value sealed for one never opens for another. */
export function createKeyedPayloads(keyRing: Pick<KeyRing, 'currentKeyId' | 'key'>, info: string): KeyedPayloads {
  const keys = new Map<string, Buffer>();
  const macKey = (kid: string): Buffer | undefined => {
    let key = keys.get(kid);
    if (!key) {
      const master = keyRing.key(kid);
      if (!master) return undefined;
      key = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
      keys.set(kid, key);
    }
    return key;
  };
  const mac = (key: Buffer, body: string) => createHmac('sha256', key).update(body).digest('base64url');

  return {
    seal(claims) {
      const kid = keyRing.currentKeyId;
      const body = Buffer.from(JSON.stringify({ k: kid, ...claims })).toString('base64url');
      return `${body}.${mac(macKey(kid)!, body)}`;
    },
    open(sealed) {
      const [body, tag, extra] = sealed.split('.');
      if (!body || !tag || extra !== undefined) return { ok: false, why: 'malformed' };
      let claims: unknown;
      try {
        claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      } catch {
        return { ok: false, why: 'malformed' };
      }
      if (typeof claims !== 'object' || claims === null) return { ok: false, why: 'forged' };
      const { k } = claims as { k?: unknown };
      const key = typeof k === 'string' ? macKey(k) : undefined;
      if (!key || !safeEqual(tag, mac(key, body))) return { ok: false, why: 'forged' };
      return { ok: true, claims: claims as Record<string, unknown> };
    },
  };
}
