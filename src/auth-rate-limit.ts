import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from './config.ts';
import { AppError } from './errors.ts';
import type { KeyFailureStore } from './store/key-failures.ts';

/** Counts failed API-key attempts per client address and refuses that address for a while past the limit. */
export interface KeyFailureLimit {
  /**
   * Runs `authenticate` unless the request's address is over the limit, and counts it when it fails
   * with a 401. `keyPresented` says whether the request offers a key at all (default: it has an
   * Authorization header); a route that takes a key in its body (console sign-in) passes true.
   */
  guard<T>(req: FastifyRequest, authenticate: () => Promise<T>, keyPresented?: boolean): Promise<T>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The failed-key limit shared by every way of presenting an API key (src/auth-rate-limit.ts). */
    keyFailures: KeyFailureLimit;
  }
}

/**
 * Only failures count, so a busy producer with a valid key never meets the limit; once an address is
 * over it, its keys are not even checked until the window ends, or a guess that happens to be right
 * would still tell the guesser so. The address is `req.ip`, which follows X-Forwarded-For only from
 * VOICEOI_TRUSTED_PROXIES. Counts live in the database (`failures`), so a guesser spreading its
 * attempts over several API replicas meets one limit.
 */
export async function registerKeyFailureLimit(
  app: FastifyInstance,
  config: Pick<Config, 'VOICEOI_AUTH_FAILURES_MAX' | 'VOICEOI_AUTH_FAILURES_WINDOW_S'>,
  failures: KeyFailureStore,
): Promise<KeyFailureLimit> {
  await app.register(rateLimit, { global: false, store: sharedStore(failures, config.VOICEOI_AUTH_FAILURES_WINDOW_S * 1000) });
  const counted = app.createRateLimit({ max: config.VOICEOI_AUTH_FAILURES_MAX, timeWindow: config.VOICEOI_AUTH_FAILURES_WINDOW_S * 1000 });
  const tooMany = (retryAfterS: number) =>
    new AppError(429, 'too_many_requests', `Too many failed API-key attempts from this address: try again in ${retryAfterS} s`, {
      retry_after_s: retryAfterS,
    });
  const limit: KeyFailureLimit = {
    async guard(req, authenticate, keyPresented = Boolean(req.headers.authorization)) {
      // No key presented (a console session, a missing header): nothing was guessed.
      if (!keyPresented) return authenticate();
      const now = await counted(req, { increment: false });
      if (!now.isAllowed && now.isExceeded) throw tooMany(Math.max(1, now.ttlInSeconds));
      try {
        return await authenticate();
      } catch (err) {
        if (err instanceof AppError && err.statusCode === 401) {
          const after = await counted(req);
          if (!after.isAllowed && after.isExceeded) throw tooMany(Math.max(1, after.ttlInSeconds));
        }
        throw err;
      }
    },
  };
  app.decorate('keyFailures', limit);
  return limit;
}

type Counted = { current: number; ttl: number };
type Callback = (err: Error | null, res?: Counted) => void;

/**
 * @fastify/rate-limit's store interface over the database. The address is kept as a hash; ended
 * windows are deleted at most once a window per process, so the table holds about one row per address
 * that failed within the last window.
 */
function sharedStore(failures: KeyFailureStore, windowMs: number) {
  const keyOf = (address: string) => createHash('sha256').update(address).digest('base64url');
  const answer = (cb: Callback, c: { failures: number; windowEndsMs: number } | undefined) =>
    cb(null, c ? { current: c.failures, ttl: Math.max(0, c.windowEndsMs - Date.now()) } : { current: 0, ttl: 0 });
  let prunedAt = Date.now();
  return class SharedKeyFailureStore {
    incr(address: string, cb: Callback, timeWindow: number): void {
      if (Date.now() - prunedAt > windowMs) {
        prunedAt = Date.now();
        void failures.prune(windowMs).catch(() => undefined);
      }
      failures.record(keyOf(address), timeWindow).then((c) => answer(cb, c), cb);
    }
    read(address: string, cb: Callback, timeWindow: number): void {
      failures.read(keyOf(address), timeWindow).then((c) => answer(cb, c), cb);
    }
    child(): SharedKeyFailureStore {
      return this;
    }
  };
}
