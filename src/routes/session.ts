import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireAdmin } from '../auth.ts';
import type { Config } from '../config.ts';
import { AppError, notFound } from '../errors.ts';
import type { SessionService } from '../sessions.ts';
import type { Store } from '../store/index.ts';
import { idParams, noBody } from './common.schema.ts';
import { errorResponses, withAuthErrors } from './errors.schema.ts';
import { revokedSessions, sessionInfo, signInBody } from './session.schema.ts';

export interface SessionRouteDeps {
  store: Pick<Store, 'accounts'>;
  sessions: SessionService;
  config: Pick<Config, 'TEMPORAL_ADDRESS' | 'TEMPORAL_UI_PORT'>;
}

const tags = ['console sessions'];
const expired = () => new AppError(401, 'unauthorized', 'No console session: sign in with POST /v1/session {api_key}');

/** Console sign-in and sign-out (src/sessions.ts); these routes read the session cookie themselves. */
export const sessionRoutes = (deps: SessionRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const { sessions } = deps;
  // The dev server's UI listens on loopback only, beside the API (src/roles.ts); a cluster's UI is elsewhere.
  const temporalUi = deps.config.TEMPORAL_ADDRESS ? {} : { temporal_ui_url: `http://127.0.0.1:${deps.config.TEMPORAL_UI_PORT}` };
  app.post('/v1/session', {
    config: { public: true },
    schema: {
      tags,
      operationId: 'createSession',
      security: [],
      body: signInBody,
      description: 'Exchanges an account API key for a console session cookie (HttpOnly, SameSite=Lax).',
      response: { 204: noBody('Signed in: the session cookie is set'), ...errorResponses(400, 401, 403, 429) },
    },
  }, async (req, reply) => {
    // Another site must not sign this browser in to an account of its choosing (login CSRF).
    sessions.checkOrigin(req);
    // A wrong key here counts towards the same failed-key limit as a wrong bearer header.
    const account = await app.keyFailures.guard(req, async () => {
      const found = await deps.store.accounts.findByApiKey(req.body.api_key);
      if (!found) throw new AppError(401, 'unauthorized', 'Invalid API key');
      return found;
    }, true);
    const previous = await sessions.resolve(req);
    if (previous) await sessions.end(previous);
    await sessions.start(account, req, reply);
    return reply.status(204).send();
  });

  app.get('/v1/session', {
    config: { public: true },
    schema: { tags, operationId: 'getSession', security: [], response: { 200: sessionInfo, ...errorResponses(401) } },
  }, async (req, reply) => {
    const session = await sessions.resolve(req);
    if (!session) throw expired();
    // It carries the CSRF token: never from a cache.
    reply.header('cache-control', 'no-store');
    return { account: { id: session.account.id, name: session.account.name }, csrf_token: session.csrfToken, expires_at: session.expiresAt, ...temporalUi };
  });

  app.delete('/v1/session', {
    config: { public: true },
    schema: {
      tags,
      operationId: 'deleteSession',
      security: [],
      description: 'Signs out: ends the session server-side and clears the cookie. Needs the x-csrf-token header while the session is alive.',
      response: { 204: noBody('Signed out'), ...errorResponses(403) },
    },
  }, async (req, reply) => {
    const session = await sessions.resolve(req);
    if (session) {
      sessions.checkCsrf(req, session);
      await sessions.end(session);
    }
    sessions.clearCookie(req, reply);
    return reply.status(204).send();
  });

  app.delete('/v1/accounts/:id/sessions', {
    schema: { tags, operationId: 'revokeAccountSessions', params: idParams, response: { 200: revokedSessions, ...withAuthErrors(404) }, description: 'Admin: ends every console session of the account.' },
  }, async (req) => {
    requireAdmin(req);
    if (!(await deps.store.accounts.get(req.params.id))) throw notFound('account', req.params.id);
    return { revoked: await sessions.revokeAccount(req.params.id) };
  });
};
