import { createHash } from 'node:crypto';
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
 * Only failures count, and only failures are refused: a request with a valid key, session or admin
 * token always passes, so a busy producer never meets the limit and a guesser cannot lock out the
 * producers that share its address (and a valid request costs no read of the counts). Once an
 * address is over the limit its wrong keys get 429, not 401, until the window ends. A right guess
 * would pass, as it would anywhere: keys are 192-bit random, and the limit is there to stop a
 * guesser's volume, which it still does. The address is `req.ip`, which follows X-Forwarded-For only
 * from VOICEOI_TRUSTED_PROXIES. Counts live in the database (`failures`), so a guesser spreading its
 * attempts over several API replicas meets one limit.
 */
export async function registerKeyFailureLimit(
  app: FastifyInstance,
  config: Pick<Config, 'VOICEOI_AUTH_FAILURES_MAX' | 'VOICEOI_AUTH_FAILURES_WINDOW_S'>,
  failures: KeyFailureStore,
): Promise<KeyFailureLimit> {
  const max = config.VOICEOI_AUTH_FAILURES_MAX;
  const windowMs = config.VOICEOI_AUTH_FAILURES_WINDOW_S * 1000;
  const tooMany = (windowEndsMs: number) => {
    const retryAfterS = Math.max(1, Math.ceil((windowEndsMs - Date.now()) / 1000));
    return new AppError(429, 'too_many_requests', `Too many failed API-key attempts from this address: try again in ${retryAfterS} s`, {
      retry_after_s: retryAfterS,
    });
  };
  let prunedAt = Date.now();
  const limit: KeyFailureLimit = {
    async guard(req, authenticate, keyPresented = Boolean(req.headers.authorization)) {
      // No key presented (a console session, a missing header): nothing was guessed.
      if (!keyPresented) return authenticate();
      const key = keyOf(req.ip);
      try {
        // The key is judged first: a valid one is never refused for what others at its address (a
        // shared NAT, a proxy not listed as trusted) guessed, or anyone could stop the event ingest.
        return await authenticate();
      } catch (err) {
        if (err instanceof AppError && err.statusCode === 401) {
          // Read per request, never cached: a lock-out counted on another replica holds here at once.
          // A locked-out address is not counted further, so being refused never extends its window.
          const open = await failures.read(key, windowMs);
          if (open && open.failures > max) throw tooMany(open.windowEndsMs);
          // Ended windows are deleted at most once a window per process: the table holds about one
          // row per address that failed within the last window.
          if (Date.now() - prunedAt > windowMs) {
            prunedAt = Date.now();
            void failures.prune(windowMs).catch(() => undefined);
          }
          const count = await failures.record(key, windowMs);
          if (count.failures > max) throw tooMany(count.windowEndsMs);
        }
        throw err;
      }
    },
  };
  app.decorate('keyFailures', limit);
  return limit;
}

/** The address as stored: a hash, so the table never holds client addresses. */
const keyOf = (address: string) => createHash('sha256').update(address).digest('base64url');
