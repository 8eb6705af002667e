import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from './config.ts';
import { AppError } from './errors.ts';

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
 * VOICEOI_TRUSTED_PROXIES. Counts live in this process (one API process per install is the norm).
 */
export async function registerKeyFailureLimit(
  app: FastifyInstance,
  config: Pick<Config, 'VOICEOI_AUTH_FAILURES_MAX' | 'VOICEOI_AUTH_FAILURES_WINDOW_S'>,
): Promise<KeyFailureLimit> {
  await app.register(rateLimit, { global: false });
  const failures = app.createRateLimit({ max: config.VOICEOI_AUTH_FAILURES_MAX, timeWindow: config.VOICEOI_AUTH_FAILURES_WINDOW_S * 1000 });
  const tooMany = (retryAfterS: number) =>
    new AppError(429, 'too_many_requests', `Too many failed API-key attempts from this address: try again in ${retryAfterS} s`, {
      retry_after_s: retryAfterS,
    });
  const limit: KeyFailureLimit = {
    async guard(req, authenticate, keyPresented = Boolean(req.headers.authorization)) {
      // No key presented (a console session, a missing header): nothing was guessed.
      if (!keyPresented) return authenticate();
      const now = await failures(req, { increment: false });
      if (!now.isAllowed && now.isExceeded) throw tooMany(Math.max(1, now.ttlInSeconds));
      try {
        return await authenticate();
      } catch (err) {
        if (err instanceof AppError && err.statusCode === 401) {
          const after = await failures(req);
          if (!after.isAllowed && after.isExceeded) throw tooMany(Math.max(1, after.ttlInSeconds));
        }
        throw err;
      }
    },
  };
  app.decorate('keyFailures', limit);
  return limit;
}
