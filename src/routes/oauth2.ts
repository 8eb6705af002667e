import { createHash, randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyOauth2, { type OAuth2Namespace } from '@fastify/oauth2';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireAccount } from '../auth.ts';
import type { Config } from '../config.ts';
import { scrub } from '../connections/errors.ts';
import { safeEqual } from '../crypto/safe-equal.ts';
import type { OAuth2ProviderConfig } from '../connections/providers-config.ts';
import { authorizePath } from '../connections/spec.ts';
import { AppError, notFound } from '../errors.ts';
import type { OAuth2Tokens } from '../store/connections.ts';
import type { Store } from '../store/index.ts';
import { refuseCrossSiteNavigation } from '../sessions.ts';
import { callbackQuery, callbackResult, startJson } from './connections.schema.ts';
import { consoleOutcome, consoleReturnPath, returnToQuery } from './console.ts';
import { idParams, noBody } from './common.schema.ts';
import { errorResponses, withAuthErrors } from './errors.schema.ts';
import { providerList, providerViews } from './oauth2.schema.ts';

// The authorization-code flow: provider apps from VOICEOI_OAUTH2_PROVIDERS are registered with
// @fastify/oauth2 (one simple-oauth2 client each, used for the authorize URL and the code exchange).
// State and PKCE are ours, because the flow starts with an authenticated API call rather than a
// login page: the state is random, single-use, expiring and bound (server-side) to the account and
// connection; the PKCE verifier lives only in an httpOnly cookie of the browser that started the
// flow, so a callback from any other browser (a forwarded authorize link) cannot complete it.

export const CALLBACK_PATH = '/v1/oauth2/callback';
const STATE_TTL_S = 600;

/** The documented `.oauth2` decoration of @fastify/oauth2 (the simple-oauth2 client); its typings omit it. */
type RegisteredApp = OAuth2Namespace & {
  oauth2: {
    authorizeURL(params: Record<string, string>): string;
    getToken(params: Record<string, string>): Promise<{ token: Record<string, unknown> }>;
  };
};

const sha256 = (s: string) => createHash('sha256').update(s).digest();
const s256 = (verifier: string) => sha256(verifier).toString('base64url');
const cookieName = (stateHash: string) => `voiceoi_oauth2_${stateHash.slice(0, 16)}`;
const returnCookieName = (stateHash: string) => `${cookieName(stateHash)}_return`;
const decoration = (provider: string) => `voiceoiOAuth2_${provider.replace(/-/g, '_')}`;

function splitUrl(raw: string): { host: string; path: string } {
  const u = new URL(raw);
  return { host: u.origin, path: `${u.pathname}${u.search}` };
}

/** Registers one provider app with @fastify/oauth2 on `app` and returns its decoration. */
async function registerProvider(app: FastifyInstance, name: string, p: OAuth2ProviderConfig, callbackUri: (req: FastifyRequest) => string): Promise<RegisteredApp> {
  const authorize = splitUrl(p.authorize_url);
  const token = splitUrl(p.token_url);
  await app.register(fastifyOauth2, {
    name: decoration(name),
    credentials: {
      client: { id: p.client_id, secret: p.client_secret },
      auth: { authorizeHost: authorize.host, authorizePath: authorize.path, tokenHost: token.host, tokenPath: token.path },
      options: { authorizationMethod: p.auth_method === 'client_secret_post' ? 'body' : 'header' },
    },
    scope: p.scopes,
    callbackUri,
  });
  return (app as unknown as Record<string, RegisteredApp>)[decoration(name)]!;
}

/** What a failed code exchange reports, without the code, verifier or client secret. */
function exchangeError(err: unknown, secrets: string[]): string {
  const e = err as { output?: { statusCode?: number }; data?: { payload?: unknown }; message?: string };
  let payload = e.data?.payload;
  if (Buffer.isBuffer(payload)) {
    try {
      payload = JSON.parse(payload.toString('utf8'));
    } catch {
      payload = undefined;
    }
  }
  const body = (payload ?? {}) as { error?: unknown; error_description?: unknown };
  const parts = [
    e.output?.statusCode ? `HTTP ${e.output.statusCode}` : undefined,
    typeof body.error === 'string' ? body.error : undefined,
    typeof body.error_description === 'string' ? body.error_description.slice(0, 200) : undefined,
  ].filter(Boolean);
  return scrub(parts.length ? parts.join(' ') : (e.message ?? 'the token endpoint could not be reached'), secrets);
}

function tokensOf(raw: Record<string, unknown>, issuedAt: number): OAuth2Tokens | undefined {
  if (typeof raw.access_token !== 'string' || raw.access_token === '') return undefined;
  const expiresIn = Number(raw.expires_in);
  return {
    access_token: raw.access_token,
    ...(typeof raw.refresh_token === 'string' ? { refresh_token: raw.refresh_token } : {}),
    ...(typeof raw.token_type === 'string' ? { token_type: raw.token_type } : {}),
    issued_at: new Date(issuedAt).toISOString(),
    ...(Number.isFinite(expiresIn) && expiresIn > 0 ? { expires_at: new Date(issuedAt + expiresIn * 1000).toISOString() } : {}),
    ...(typeof raw.scope === 'string' ? { scope: raw.scope } : {}),
  };
}

export interface OAuth2RouteDeps {
  store: Pick<Store, 'connections'>;
  config: Pick<Config, 'VOICEOI_OAUTH2_PROVIDERS' | 'VOICEOI_PUBLIC_URL'>;
}

export const oauth2Routes = (deps: OAuth2RouteDeps): FastifyPluginAsyncZod => async (app) => {
  const { store, config } = deps;
  const providers = config.VOICEOI_OAUTH2_PROVIDERS;
  const tags = ['connections'];

  const callbackUrl = (req: FastifyRequest) =>
    `${(config.VOICEOI_PUBLIC_URL ?? `${req.protocol}://${req.host}`).replace(/\/+$/, '')}${CALLBACK_PATH}`;

  if (!app.hasReplyDecorator('setCookie')) await app.register(fastifyCookie);
  const apps = new Map<string, RegisteredApp>();
  // Where a callback whose flow came from the console sends the browser back to (set once its state is known).
  const consoleReturns = new WeakMap<FastifyRequest, { path: string; connectionId: string }>();
  for (const [name, p] of Object.entries(providers)) apps.set(name, await registerProvider(app, name, p, callbackUrl));

  const listed = providerList.parse({ items: providerViews(providers) });
  app.get('/v1/oauth2/providers', {
    schema: {
      tags,
      operationId: 'listOAuth2Providers',
      description:
        'The OAuth2 providers an oauth2_authorization_code connection can use (the operator configures them with VOICEOI_OAUTH2_PROVIDERS): ' +
        'name, display name and default scopes; never a client id or secret.',
      response: { 200: providerList, ...withAuthErrors() },
    },
  }, async (req) => {
    requireAccount(req);
    return listed;
  });

  app.get('/v1/connections/:id/oauth2/start', {
    schema: {
      tags,
      operationId: 'startConnectionAuthorization',
      params: idParams,
      querystring: returnToQuery,
      description:
        'Starts the authorization of an oauth2_authorization_code connection: 302 to the provider, or {authorize_url} with Accept: application/json. ' +
        'Open it in the browser that made this call (it carries a cookie the callback checks). ' +
        'With return_to (a path under /console) the callback sends the browser back there instead of answering JSON.',
      response: { 200: startJson, 302: noBody('To the provider\'s authorize URL (without Accept: application/json)'), ...withAuthErrors(400, 404, 409) },
    },
  }, async (req, reply) => {
    const account = requireAccount(req);
    if (req.principal?.kind === 'account' && req.principal.via === 'session') refuseCrossSiteNavigation(req);
    const conn = await store.connections.get(account.id, req.params.id);
    if (!conn) throw notFound('connection', req.params.id);
    if (conn.kind !== 'oauth2_authorization_code') {
      throw new AppError(409, 'connection_not_authorization_code', `connection ${conn.id} is a ${conn.kind} connection: only oauth2_authorization_code connections are authorized at a provider`);
    }
    const provider = providers[conn.settings.provider];
    const registered = apps.get(conn.settings.provider);
    if (!provider || !registered) {
      throw new AppError(409, 'oauth2_provider_not_configured', `provider '${conn.settings.provider}' of connection ${conn.id} is no longer in VOICEOI_OAUTH2_PROVIDERS`);
    }
    const state = randomBytes(32).toString('base64url');
    const verifier = randomBytes(32).toString('base64url');
    const stateHash = sha256(state).toString('hex');
    const redirectUri = callbackUrl(req);
    const expiresAt = new Date(Date.now() + STATE_TTL_S * 1000).toISOString();
    await store.connections.createAuthorization({
      state_hash: stateHash,
      account_id: account.id,
      connection_id: conn.id,
      provider: conn.settings.provider,
      redirect_uri: redirectUri,
      code_challenge: s256(verifier),
      expires_at: expiresAt,
    });
    reply.setCookie(cookieName(stateHash), verifier, {
      path: CALLBACK_PATH,
      httpOnly: true,
      sameSite: 'lax',
      secure: redirectUri.startsWith('https:'),
      maxAge: STATE_TTL_S,
    });
    // Kept beside the verifier (bound to this browser) and checked again at the callback.
    const returnTo = req.query.return_to === undefined ? undefined : consoleReturnPath(req.query.return_to);
    if (returnTo) {
      reply.setCookie(returnCookieName(stateHash), returnTo, { path: CALLBACK_PATH, httpOnly: true, sameSite: 'lax', secure: redirectUri.startsWith('https:'), maxAge: STATE_TTL_S });
    }
    const scope = conn.settings.scope ?? provider.scopes.join(' ');
    const authorizeUrl = registered.oauth2.authorizeURL({
      ...provider.authorize_params,
      redirect_uri: redirectUri,
      ...(scope ? { scope } : {}),
      state,
      code_challenge: s256(verifier),
      code_challenge_method: 'S256',
    });
    if ((req.headers.accept ?? '').includes('application/json')) return { authorize_url: authorizeUrl, expires_at: expiresAt };
    return reply.redirect(authorizeUrl, 302);
  });

  app.get(CALLBACK_PATH, {
    config: { public: true },
    // The query carries the authorization code: keep it out of the request log lines.
    logLevel: 'warn',
    schema: {
      tags,
      operationId: 'completeOAuth2Authorization',
      security: [],
      description:
        'Where the provider sends the browser back (the redirect URI to register with it): exchanges the code for tokens. ' +
        'A flow started from the console answers 302 back to it, with the outcome (or `oauth2_error`) in the query.',
      querystring: callbackQuery,
      response: { 200: callbackResult, 302: noBody('Back to the console page the flow started from'), ...errorResponses(400, 404, 409, 502) },
    },
    // A flow started from the console ends there, failed or not: the console shows the code.
    errorHandler(err, req, reply) {
      const back = consoleReturns.get(req);
      if (back && err instanceof AppError) return reply.redirect(consoleOutcome(back.path, { oauth2_error: err.code, connection_id: back.connectionId }), 302);
      return app.errorHandler(err, req, reply);
    },
  }, async (req, reply) => {
    const q = req.query;
    if (!q.state) throw new AppError(400, 'oauth2_state_missing', 'The callback has no state parameter: start the authorization again');
    const stateHash = sha256(q.state).toString('hex');
    const cookie = cookieName(stateHash);
    const verifier = req.cookies[cookie];
    const unknownState = () =>
      new AppError(400, 'oauth2_state_invalid', 'Unknown or already used state: start the authorization again (GET /v1/connections/:id/oauth2/start)');

    // The browser binding is checked before the state is used up: a callback from any other client
    // (a forwarded or leaked link) is refused without burning the state of the browser that started it.
    const found = await store.connections.findAuthorization(stateHash);
    if (!found) throw unknownState();
    if (!verifier || !safeEqual(s256(verifier), found.code_challenge)) {
      throw new AppError(400, 'oauth2_browser_mismatch', `This browser did not start this authorization (its cookie is missing): start again with GET ${authorizePath(found.connection_id)} from this browser`);
    }
    reply.clearCookie(cookie, { path: CALLBACK_PATH });
    // Single use even between two requests of the rightful browser: only one of them consumes it.
    const pending = await store.connections.consumeAuthorization(stateHash);
    if (!pending) throw unknownState();
    const back = consoleReturnPath(req.cookies[returnCookieName(stateHash)] ?? '');
    reply.clearCookie(returnCookieName(stateHash), { path: CALLBACK_PATH });
    if (back) consoleReturns.set(req, { path: back, connectionId: pending.connection_id });
    const restart = `start again with GET ${authorizePath(pending.connection_id)}`;
    if (Date.parse(pending.expires_at) <= Date.now()) {
      throw new AppError(400, 'oauth2_state_expired', `The authorization took longer than ${STATE_TTL_S / 60} minutes: ${restart}`);
    }
    const conn = await store.connections.get(pending.account_id, pending.connection_id);
    if (!conn || conn.kind !== 'oauth2_authorization_code') throw notFound('connection', pending.connection_id);
    if (conn.settings.provider !== pending.provider) {
      throw new AppError(409, 'connection_changed', `Connection ${conn.id} now uses provider '${conn.settings.provider}': ${restart}`);
    }
    const lastError = async (code: string, message: string) =>
      store.connections.update(pending.account_id, conn.id, { last_error: { code, message, at: new Date().toISOString() } });
    if (q.error) {
      const message = `the provider answered ${q.error}${q.error_description ? `: ${q.error_description.slice(0, 200)}` : ''}`;
      await lastError('oauth2_authorization_denied', message);
      throw new AppError(400, 'oauth2_authorization_denied', `Authorization not granted: ${message}`);
    }
    if (!q.code) throw new AppError(400, 'oauth2_code_missing', `The callback has neither code nor error: ${restart}`);
    const registered = apps.get(pending.provider);
    const provider = providers[pending.provider];
    if (!registered || !provider) throw new AppError(409, 'oauth2_provider_not_configured', `provider '${pending.provider}' is no longer in VOICEOI_OAUTH2_PROVIDERS`);

    const issuedAt = Date.now();
    let raw: Record<string, unknown>;
    try {
      raw = (await registered.oauth2.getToken({ code: q.code, redirect_uri: pending.redirect_uri, code_verifier: verifier! })).token;
    } catch (err) {
      const message = `the token endpoint refused the authorization code: ${exchangeError(err, [provider.client_secret, q.code, verifier!])}`;
      await lastError('oauth2_code_exchange_failed', message);
      throw new AppError(502, 'oauth2_code_exchange_failed', message);
    }
    const tokens = tokensOf(raw, issuedAt);
    if (!tokens) {
      await lastError('oauth2_code_exchange_failed', 'the token endpoint answered without an access_token');
      throw new AppError(502, 'oauth2_code_exchange_failed', 'The token endpoint answered without an access_token');
    }
    const done = await store.connections.completeAuthorization(pending.account_id, conn.id, tokens);
    if (!done) throw notFound('connection', conn.id);
    if (back) return reply.redirect(consoleOutcome(back, { oauth2: 'connected', connection_id: done.id }), 302);
    return { connection_id: done.id, status: 'connected' as const, authorized_at: done.authorized_at, message: 'Connected. You can close this window.' };
  });
};
