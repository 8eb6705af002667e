import { createHash } from 'node:crypto';
import { createKeyedPayloads } from '../crypto/keyed-payload.ts';
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
  const payloads = createKeyedPayloads(keyRing, HKDF_INFO);
  return {
    seal(token, query) {
      return payloads.seal({ q: queryTag(query), t: Buffer.from(token).toString('base64') });
    },
    open(cursor, query) {
      const opened = payloads.open(cursor);
      if (!opened.ok) throw notOurs();
      const { q, t } = opened.claims;
      if (typeof q !== 'string' || typeof t !== 'string') throw notOurs();
      if (q !== queryTag(query)) throw new DomainError('invalid_cursor', 'cursor: it belongs to a listing with other filters; send the same filters as the first page');
      return Buffer.from(t, 'base64');
    },
  };
}
