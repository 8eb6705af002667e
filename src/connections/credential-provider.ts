import type { Logger } from 'pino';
import type { CredentialProvider } from '../delivery/attempt.ts';
import type { ConnectionRecord, ConnectionStore, OAuth2Tokens } from '../store/connections.ts';
import { CredentialError } from './errors.ts';
import type { OAuth2Providers } from './providers-config.ts';
import type { TokenClient, TokenEndpoint } from './token-client.ts';

// A token is used until shortly before it expires: 20% of its lifetime, at most 30 s, early. A token
// without a lifetime is used for an hour, or until the destination answers 401.
const MAX_SKEW_MS = 30_000;
const NO_EXPIRY_LIFETIME_MS = 3_600_000;
// Cross-process refresh lease (refresh tokens may rotate: two concurrent refreshes can lose one).
const LEASE_MS = 30_000;
const LEASE_WAIT_MS = 15_000;
const LEASE_POLL_MS = 100;

function freshUntil(t: Pick<OAuth2Tokens, 'issued_at' | 'expires_at'>): number {
  const issued = t.issued_at ? Date.parse(t.issued_at) : undefined;
  if (!t.expires_at) return (issued ?? 0) + NO_EXPIRY_LIFETIME_MS;
  const expires = Date.parse(t.expires_at);
  const lifetime = issued !== undefined ? expires - issued : MAX_SKEW_MS * 5;
  return expires - Math.min(MAX_SKEW_MS, Math.max(0, lifetime) / 5);
}

interface CachedToken {
  rev: number;
  access_token: string;
  fresh_until: number;
}

export interface ConnectionCredentialDeps {
  connections: ConnectionStore;
  providers: OAuth2Providers;
  tokens: TokenClient;
  logger?: Pick<Logger, 'warn' | 'info'>;
  /**
   * The provider refused a refresh: the connection now needs re-authorization
   * (hook.connection_needs_reauth, src/events/operational.ts). Its failure fails no attempt.
   */
  onNeedsReauth?: (accountId: string, connectionId: string, rev: number, reason: string) => Promise<unknown>;
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` }, oauth2: true });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function needsReauth(rec: Pick<ConnectionRecord, 'id' | 'last_error'>, why?: string): CredentialError {
  const reason = why ?? rec.last_error?.message ?? 'it has not been authorized yet';
  return new CredentialError(
    'connection_needs_reauth',
    `connection ${rec.id} needs re-authorization (${reason}); open GET /v1/connections/${rec.id}/oauth2/start, then recover the failed deliveries`,
    false,
  );
}

/**
 * The worker's CredentialProvider: applies a destination's connection to an attempt. OAuth2 tokens are
 * cached in this process until shortly before they expire, with one token request in flight per
 * connection; authorization-code tokens also live (encrypted) in the store, refreshed under a lease.
 */
export function createConnectionCredentials(deps: ConnectionCredentialDeps): CredentialProvider {
  const { connections, tokens, logger } = deps;
  const cache = new Map<string, CachedToken>();
  const inFlight = new Map<string, Promise<string>>();

  /** Joins the request already in flight for this connection and revision, or starts one. */
  function once(key: string, run: () => Promise<string>): Promise<string> {
    const existing = inFlight.get(key);
    if (existing) return existing;
    const p = run().finally(() => inFlight.delete(key));
    inFlight.set(key, p);
    return p;
  }

  async function failed(rec: ConnectionRecord, err: CredentialError): Promise<never> {
    logger?.warn({ connection_id: rec.id, code: err.code }, 'connection token request failed');
    await connections.setStatus(rec.id, 'error', { code: err.code, message: err.message }).catch(() => undefined);
    throw err;
  }

  async function clientCredentials(rec: ConnectionRecord, force: boolean, allowedNetworks: readonly string[] | undefined): Promise<string> {
    if (rec.kind !== 'oauth2_client_credentials') throw new Error('unreachable');
    const cached = cache.get(rec.id);
    if (!force && cached && cached.rev === rec.rev && Date.now() < cached.fresh_until) return cached.access_token;
    const { settings } = rec;
    const secrets = rec.secrets as { client_secret: string };
    return once(`${rec.id}:${rec.rev}`, async () => {
      const ep: TokenEndpoint = {
        token_url: settings.token_url, client_id: settings.client_id, client_secret: secrets.client_secret, auth_method: settings.auth_method,
        allowed_networks: allowedNetworks,
        tls: rec.tlsMaterial,
      };
      let t: OAuth2Tokens;
      try {
        t = await tokens.clientCredentials(ep, { scope: settings.scope, audience: settings.audience });
      } catch (err) {
        return failed(rec, err as CredentialError);
      }
      cache.set(rec.id, { rev: rec.rev, access_token: t.access_token, fresh_until: freshUntil(t) });
      if (rec.status !== 'connected') await connections.setStatus(rec.id, 'connected', null);
      return t.access_token;
    });
  }

  function providerEndpoint(rec: ConnectionRecord): TokenEndpoint {
    if (rec.kind !== 'oauth2_authorization_code') throw new Error('unreachable');
    const p = deps.providers[rec.settings.provider];
    if (!p) {
      throw new CredentialError(
        'oauth2_provider_not_configured',
        `connection ${rec.id} uses OAuth2 provider '${rec.settings.provider}', which is not in VOICEOI_OAUTH2_PROVIDERS`,
        false,
      );
    }
    return { token_url: p.token_url, client_id: p.client_id, client_secret: p.client_secret, auth_method: p.auth_method };
  }

  /** Marks the connection needs_reauth and tells the account (best effort: the attempt's own error says it too). */
  async function requireReauth(rec: ConnectionRecord, error: { code: string; message: string }): Promise<void> {
    await connections.requireReauth(rec.id, rec.rev, error);
    await deps.onNeedsReauth?.(rec.account_id, rec.id, rec.rev, error.message).catch((err: unknown) => {
      logger?.warn({ connection_id: rec.id, err }, 'could not emit hook.connection_needs_reauth');
    });
  }

  /** Refreshes under the store's lease, or adopts the token another process just stored. */
  async function refresh(rec: ConnectionRecord, force: boolean): Promise<string> {
    const ep = providerEndpoint(rec);
    const used = rec.tokens?.access_token;
    const deadline = Date.now() + LEASE_WAIT_MS;
    while (!(await connections.acquireRefreshLease(rec.id, Date.now() + LEASE_MS))) {
      if (Date.now() > deadline) {
        throw new CredentialError('oauth2_refresh_in_progress', `connection ${rec.id}: another process is refreshing its token; retrying later`, true);
      }
      await sleep(LEASE_POLL_MS);
      const now = await connections.load(rec.id);
      if (!now) throw new CredentialError('connection_not_found', `connection ${rec.id} was deleted`, false);
      if (now.status === 'needs_reauth' || !now.tokens) throw needsReauth(now);
      if (now.tokens.access_token !== used && Date.now() < freshUntil(now.tokens)) return now.tokens.access_token;
    }
    try {
      // Re-read under the lease: the row may have changed between our read and the lease.
      const cur = await connections.load(rec.id);
      if (!cur) throw new CredentialError('connection_not_found', `connection ${rec.id} was deleted`, false);
      if (cur.status === 'needs_reauth' || !cur.tokens) throw needsReauth(cur);
      if (cur.tokens.access_token !== used && Date.now() < freshUntil(cur.tokens)) return cur.tokens.access_token;
      if (!force && Date.now() < freshUntil(cur.tokens)) return cur.tokens.access_token;
      const refreshToken = cur.tokens.refresh_token;
      if (!refreshToken) {
        const why = `the access token ${force ? 'was rejected by the destination' : 'expired'} and the provider gave no refresh token`;
        await requireReauth(cur, { code: 'oauth2_no_refresh_token', message: why });
        throw needsReauth(cur, why);
      }
      let t: OAuth2Tokens;
      try {
        t = await tokens.refresh(ep, refreshToken);
      } catch (err) {
        const e = err as CredentialError;
        if (e.code === 'oauth2_invalid_grant') {
          logger?.warn({ connection_id: cur.id }, 'refresh token refused: the connection needs re-authorization');
          await requireReauth(cur, { code: e.code, message: e.message });
          throw needsReauth(cur, e.message);
        }
        return await failed(cur, e);
      }
      // Providers that do not rotate refresh tokens omit them from the refresh response.
      const next: OAuth2Tokens = { ...t, refresh_token: t.refresh_token ?? refreshToken };
      await connections.saveTokens(cur.id, cur.rev, next);
      return next.access_token;
    } finally {
      await connections.releaseRefreshLease(rec.id);
    }
  }

  async function authorizationCode(rec: ConnectionRecord, force: boolean): Promise<string> {
    if (rec.status === 'needs_reauth' || !rec.tokens) throw needsReauth(rec);
    if (!force && Date.now() < freshUntil(rec.tokens)) return rec.tokens.access_token;
    return once(`${rec.id}:${rec.rev}`, () => refresh(rec, force));
  }

  return {
    async headersFor(connectionId, accountId, opts = {}) {
      let rec: ConnectionRecord | undefined;
      try {
        rec = await connections.loadFor(opts.check ?? accountId, connectionId);
      } catch (err) {
        // A key missing from the ring can be added back: retrying makes sense.
        throw new CredentialError('connection_unreadable', `connection ${connectionId} cannot be decrypted: ${(err as Error).message}`, true);
      }
      // Another account's connection is treated exactly like a missing one.
      if (!rec || rec.account_id !== accountId) {
        throw new CredentialError('connection_not_found', `connection ${connectionId} does not exist (deleted?); set another connection_id on the destination`, false);
      }
      const force = opts.forceRefresh === true;
      // The connection's TLS goes with its credentials: the delivery is sent with both.
      const tls = rec.tlsMaterial;
      switch (rec.kind) {
        case 'headers':
          return { headers: { ...(rec.secrets as { headers: Record<string, string> }).headers }, oauth2: false, tls };
        case 'basic': {
          const { password } = rec.secrets as { password: string };
          return { headers: { authorization: `Basic ${Buffer.from(`${rec.settings.username}:${password}`).toString('base64')}` }, oauth2: false, tls };
        }
        case 'oauth2_client_credentials':
          return { ...bearer(await clientCredentials(rec, force, opts.allowedNetworks)), tls };
        case 'oauth2_authorization_code':
          return { ...bearer(await authorizationCode(rec, force)), tls };
      }
    },
  };
}
