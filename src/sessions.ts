import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from './config.ts';
import { AppError } from './errors.ts';
import type { Account } from './store/accounts.ts';
import type { SessionStore } from './store/sessions.ts';
import { safeEqual } from './crypto/safe-equal.ts';

// Console sign-in: an account API key is exchanged for an opaque random session id carried by an
// HttpOnly cookie. The database keeps only the id's hash (a database reader cannot ride a session),
// and the CSRF token is an HMAC of the id, so it exists nowhere at rest either. A session ends after
// VOICEOI_SESSION_IDLE_S without a request, VOICEOI_SESSION_MAX_S after sign-in, on sign-out, or when
// an admin ends every session of the account.

const SESSION_COOKIE = 'voiceoi_session';
const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface LiveSession {
  idHash: string;
  account: Account;
  csrfToken: string;
  /** When it ends if no further request comes: the idle end, capped by the absolute one. */
  expiresAt: string;
}

export interface SessionService {
  /** Starts a session for the account and sets its cookie on the reply. */
  start(account: Account, req: FastifyRequest, reply: FastifyReply): Promise<LiveSession>;
  /** The live session the request's cookie names (its idle clock restarted), if any. */
  resolve(req: FastifyRequest): Promise<LiveSession | undefined>;
  /** Throws 403 csrf_failed unless the request comes from the API's own origin with the session's token. */
  checkCsrf(req: FastifyRequest, session: LiveSession): void;
  /** Refuses a request whose Origin header names another site (absent is allowed: curl, same-origin GET). */
  checkOrigin(req: FastifyRequest): void;
  end(session: LiveSession): Promise<void>;
  clearCookie(req: FastifyRequest, reply: FastifyReply): void;
  revokeAccount(accountId: string): Promise<number>;
  /** True when the request carries a session cookie (it then authenticates with it). */
  presented(req: FastifyRequest): boolean;
  isStateChanging(req: FastifyRequest): boolean;
}

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');
const csrfFor = (id: string) => createHmac('sha256', id).update('voiceoi-csrf-v1').digest('base64url');

const csrfFailed = (why: string) =>
  new AppError(403, 'csrf_failed', `Refused: ${why}. A browser request riding the console session must come from the console's own origin with the ${CSRF_HEADER} header from GET /v1/session`);

export function createSessionService(deps: { store: SessionStore; config: Config }): SessionService {
  const idleMs = deps.config.VOICEOI_SESSION_IDLE_S * 1000;
  const maxMs = deps.config.VOICEOI_SESSION_MAX_S * 1000;
  // Writing last_seen_at on every request would make each console call a database write.
  const touchEveryMs = Math.min(60_000, idleMs / 4);
  const publicOrigin = deps.config.VOICEOI_PUBLIC_URL ? new URL(deps.config.VOICEOI_PUBLIC_URL).origin : undefined;

  const cookieOptions = (req: FastifyRequest): CookieSerializeOptions => ({
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: req.protocol === 'https',
  });
  const idOf = (req: FastifyRequest): string | undefined => {
    const v = req.cookies?.[SESSION_COOKIE];
    return v && v.length <= 200 ? v : undefined;
  };
  const live = (id: string, account: Account, lastSeen: number, end: number): LiveSession => ({
    idHash: hashId(id),
    account,
    csrfToken: csrfFor(id),
    expiresAt: new Date(Math.min(lastSeen + idleMs, end)).toISOString(),
  });
  // The API's own origin: the one the browser addressed (its Host), or the configured public URL.
  const isOwnOrigin = (req: FastifyRequest, origin: string) =>
    origin === `${req.protocol}://${req.host}` || (publicOrigin !== undefined && origin === publicOrigin);
  const checkOrigin = (req: FastifyRequest) => {
    const origin = req.headers.origin;
    if (origin !== undefined && !isOwnOrigin(req, origin)) throw csrfFailed('the request comes from another site (its Origin is not this API)');
  };

  return {
    async start(account, req, reply) {
      const id = randomBytes(32).toString('base64url');
      const now = Date.now();
      const end = now + maxMs;
      await deps.store.create(
        { id_hash: hashId(id), account_id: account.id, created_at: new Date(now).toISOString(), last_seen_at: new Date(now).toISOString(), expires_at: new Date(end).toISOString() },
        { now: new Date(now).toISOString(), idleSince: new Date(now - idleMs).toISOString() },
      );
      reply.setCookie(SESSION_COOKIE, id, { ...cookieOptions(req), maxAge: deps.config.VOICEOI_SESSION_MAX_S });
      return live(id, account, now, end);
    },
    async resolve(req) {
      const id = idOf(req);
      if (!id) return undefined;
      const found = await deps.store.find(hashId(id));
      if (!found) return undefined;
      const now = Date.now();
      const lastSeen = Date.parse(found.session.last_seen_at);
      const end = Date.parse(found.session.expires_at);
      if (now >= end || now - lastSeen >= idleMs) {
        await deps.store.revoke(found.session.id_hash);
        return undefined;
      }
      if (now - lastSeen >= touchEveryMs) {
        await deps.store.touch(found.session.id_hash, new Date(now).toISOString());
        return live(id, found.account, now, end);
      }
      return live(id, found.account, lastSeen, end);
    },
    checkCsrf(req, session) {
      checkOrigin(req);
      if (!req.headers.origin) throw csrfFailed('the request has no Origin header');
      const token = req.headers[CSRF_HEADER];
      if (typeof token !== 'string' || token === '') throw csrfFailed(`the ${CSRF_HEADER} header is missing`);
      if (!safeEqual(token, session.csrfToken)) throw csrfFailed(`the ${CSRF_HEADER} header does not match this session`);
    },
    checkOrigin,
    async end(session) {
      await deps.store.revoke(session.idHash);
    },
    clearCookie(req, reply) {
      reply.clearCookie(SESSION_COOKIE, cookieOptions(req));
    },
    revokeAccount: (accountId) => deps.store.revokeAccount(accountId),
    presented: (req) => idOf(req) !== undefined,
    isStateChanging: (req) => !SAFE_METHODS.has(req.method),
  };
}

/**
 * A GET that starts something (the OAuth2 consent) riding the session must be a navigation from this
 * site or typed by the user: SameSite=Lax still sends the cookie on a top-level link from another site.
 * Browsers that send no Sec-Fetch-Site are let through (the flow stays bound to this browser by PKCE).
 */
export function refuseCrossSiteNavigation(req: FastifyRequest): void {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') {
    throw csrfFailed('the request was started by another site (Sec-Fetch-Site)');
  }
}
