import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { KeyRing } from '../crypto/keyring.ts';
import { DomainError } from '../errors.ts';

// A list cursor is Temporal's page token bound to the query it continues, and keyed: Temporal spends
// seconds retrying a junk token before it fails (a forged cursor once cost 6-9 s and answered 500),
// so only a cursor this install made reaches it. Reusing one with other filters would silently skip
// or repeat rows, so that is refused too. The account is in every query, so even a valid cursor can
// never widen what a caller sees.

const HKDF_INFO = 'voiceoi-list-cursor-v1';
const notOurs = () => new DomainError('invalid_cursor', 'cursor: not a cursor returned by this API');

const queryTag = (query: string) => createHash('sha256').update(query).digest('base64url').slice(0, 16);

export interface Cursors {
  seal(token: Uint8Array, query: string): string;
  /** Temporal's page token, or `invalid_cursor` for anything this install did not hand out for `query`. */
  open(cursor: string, query: string): Uint8Array;
}

/** Keys derived per master key, so cursors made before a key rotation still open while that key is in the ring. */
export function createCursors(keyRing: Pick<KeyRing, 'currentKeyId' | 'key'>): Cursors {
  const keys = new Map<string, Buffer>();
  const macKey = (kid: string): Buffer | undefined => {
    let k = keys.get(kid);
    if (!k) {
      const master = keyRing.key(kid);
      if (!master) return undefined;
      k = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), HKDF_INFO, 32));
      keys.set(kid, k);
    }
    return k;
  };
  const mac = (key: Buffer, body: string) => createHmac('sha256', key).update(body).digest();

  return {
    seal(token, query) {
      const kid = keyRing.currentKeyId;
      const body = Buffer.from(JSON.stringify({ k: kid, q: queryTag(query), t: Buffer.from(token).toString('base64') })).toString('base64url');
      return `${body}.${mac(macKey(kid)!, body).toString('base64url')}`;
    },
    open(cursor, query) {
      const [body, tag, extra] = cursor.split('.');
      if (!body || !tag || extra !== undefined) throw notOurs();
      let parsed: { k?: unknown; q?: unknown; t?: unknown };
      try {
        parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as typeof parsed;
      } catch {
        throw notOurs();
      }
      if (typeof parsed !== 'object' || parsed === null || typeof parsed.k !== 'string' || typeof parsed.q !== 'string' || typeof parsed.t !== 'string') throw notOurs();
      const key = macKey(parsed.k);
      const sent = Buffer.from(tag, 'base64url');
      if (!key) throw notOurs();
      const expected = mac(key, body);
      if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) throw notOurs();
      if (parsed.q !== queryTag(query)) throw new DomainError('invalid_cursor', 'cursor: it belongs to a listing with other filters; send the same filters as the first page');
      return Buffer.from(parsed.t, 'base64');
    },
  };
}
