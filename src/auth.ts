import type { FastifyRequest } from 'fastify';
import { AppError } from './errors.ts';
import type { SessionService } from './sessions.ts';
import type { Account, AccountStore } from './store/accounts.ts';
import { safeEqual } from './crypto/safe-equal.ts';

/**
 * `via: 'session'`: the account signed in to the console (a cookie) rather than sending its key.
 * `stream`: a stream token (src/stream-tokens.ts), which reads one pull destination's stream and nothing else.
 */
export type Principal =
  | { kind: 'admin' }
  | { kind: 'account'; account: Account; via?: 'session' }
  | { kind: 'stream'; account: Account; destinationId: string };

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

function bearer(req: FastifyRequest): string {
  const h = req.headers.authorization;
  if (!h) throw new AppError(401, 'unauthorized', 'Missing Authorization header: send "Authorization: Bearer <api key>"');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) throw new AppError(401, 'unauthorized', 'Malformed Authorization header: expected "Bearer <api key>"');
  return m[1]!;
}

/** A console session authenticates an account only, and a state-changing call must pass the CSRF check. */
async function sessionPrincipal(sessions: SessionService, req: FastifyRequest): Promise<Principal> {
  const session = await sessions.resolve(req);
  if (!session) throw new AppError(401, 'unauthorized', 'The console session has expired or was signed out: sign in again (POST /v1/session)');
  if (sessions.isStateChanging(req)) sessions.checkCsrf(req, session);
  return { kind: 'account', account: session.account, via: 'session' };
}

export function createAuthenticator(deps: { adminToken: string; accounts: AccountStore; sessions?: SessionService }) {
  return async function authenticate(req: FastifyRequest): Promise<Principal> {
    // A bearer header wins: a cross-site page can send the cookie but never an Authorization header.
    if (deps.sessions && !req.headers.authorization && deps.sessions.presented(req)) return sessionPrincipal(deps.sessions, req);
    const token = bearer(req);
    if (safeEqual(token, deps.adminToken)) return { kind: 'admin' };
    const account = await deps.accounts.findByApiKey(token);
    if (!account) throw new AppError(401, 'unauthorized', 'Invalid API key');
    return { kind: 'account', account };
  };
}

export function requireAdmin(req: FastifyRequest): void {
  if (req.principal?.kind !== 'admin') throw new AppError(403, 'forbidden', 'This call needs the admin token');
}

export function requireAccount(req: FastifyRequest): Account {
  if (req.principal?.kind !== 'account') throw new AppError(403, 'forbidden', 'This call needs an account API key');
  return req.principal.account;
}
