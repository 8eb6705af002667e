import type { FastifyRequest } from 'fastify';
import type { Principal } from './auth.ts';
import { createKeyedPayloads } from './crypto/keyed-payload.ts';
import type { KeyRing } from './crypto/keyring.ts';
import { AppError } from './errors.ts';
import type { AccountStore } from './store/accounts.ts';

// Stream tokens let a browser page read one pull destination's stream without the account key
// (EventSource cannot send headers, so the token rides in `?token=`). They are stateless: an HMAC,
// under a key derived from the key ring's current master key, of the account, the destination and
// the expiry. Any API replica verifies them; rotating the master key (a new key appended) keeps
// earlier tokens valid until they expire, since the key id is in the token.

const PREFIX = 'vst_';
const INFO = 'voiceoi-hooks stream token v1';
export const MAX_STREAM_TOKEN_TTL_S = 86_400;

export interface StreamTokenClaims {
  accountId: string;
  destinationId: string;
  expiresAt: Date;
}

export interface StreamTokens {
  issue(accountId: string, destinationId: string, ttlS: number): { token: string; expires_at: string };
  /** The token's claims, or 401 when it is not one of ours, was tampered with or has expired. */
  verify(token: string, now?: Date): StreamTokenClaims;
}

interface Payload {
  k: string;
  a: string;
  d: string;
  e: number;
}

const invalid = (why: string) => new AppError(401, 'invalid_stream_token', `The stream token ${why}; ask for a new one (POST /v1/destinations/:id/stream-tokens)`);

export function createStreamTokens(keyRing: KeyRing): StreamTokens {
  const payloads = createKeyedPayloads(keyRing, INFO);
  return {
    issue(accountId, destinationId, ttlS) {
      const expires = new Date(Date.now() + ttlS * 1000);
      const claims: Omit<Payload, 'k'> = { a: accountId, d: destinationId, e: Math.floor(expires.getTime() / 1000) };
      return { token: `${PREFIX}${payloads.seal(claims)}`, expires_at: expires.toISOString() };
    },
    verify(token, now = new Date()) {
      if (!/^vst_[A-Za-z0-9_-]{1,1000}\.[A-Za-z0-9_-]{43}$/.test(token)) throw invalid('is malformed');
      const opened = payloads.open(token.slice(PREFIX.length));
      if (!opened.ok) throw invalid(opened.why === 'malformed' ? 'is malformed' : 'is not valid');
      const claims = opened.claims as Partial<Payload>;
      if (typeof claims.a !== 'string' || typeof claims.d !== 'string' || typeof claims.e !== 'number') throw invalid('is malformed');
      if (claims.e * 1000 <= now.getTime()) throw new AppError(401, 'stream_token_expired', 'The stream token has expired; ask for a new one (POST /v1/destinations/:id/stream-tokens)');
      return { accountId: claims.a, destinationId: claims.d, expiresAt: new Date(claims.e * 1000) };
    },
  };
}

/** The `?token=` of a request, when it carries one (only routes marked `streamToken` look). */
export function streamTokenOf(req: FastifyRequest): string | undefined {
  const token = (req.query as Record<string, unknown> | undefined)?.token;
  return typeof token === 'string' ? token : undefined;
}

/** Who a stream token speaks for: its account, limited to its destination (the routes check which). */
export async function streamPrincipal(tokens: StreamTokens, accounts: Pick<AccountStore, 'get'>, token: string): Promise<Principal> {
  const claims = tokens.verify(token);
  const account = await accounts.get(claims.accountId);
  if (!account) throw invalid('is not valid');
  return { kind: 'stream', account, destinationId: claims.destinationId };
}
