import * as oidc from 'openid-client';
import { fetch as undiciFetch } from 'undici';
import type { ClientAuthMethod, OAuth2Tokens } from '../store/connections.ts';
import { refuseLiteral, RefusedAddressError, type DeliveryAgent } from '../delivery/http-client.ts';
import type { NetworkPolicy } from '../delivery/network-policy.ts';
import { tlsFailureOf } from '../delivery/tls-errors.ts';
import { CredentialError, scrub } from './errors.ts';
import type { TlsMaterial } from './tls.ts';

/** A token endpoint and the client credentials to present there. */
export interface TokenEndpoint {
  token_url: string;
  client_id: string;
  client_secret: string;
  auth_method: ClientAuthMethod;
  /** The networks an operator opened for the account the token is for (its allowed_networks). */
  allowed_networks?: readonly string[];
  /** The connection's TLS (CAs, client certificate: RFC 8705 mutual TLS); the token request uses it too. */
  tls?: TlsMaterial | null;
}

export interface TokenClient {
  clientCredentials(ep: TokenEndpoint, params: { scope?: string | null; audience?: string | null }): Promise<OAuth2Tokens>;
  refresh(ep: TokenEndpoint, refreshToken: string): Promise<OAuth2Tokens>;
}

const DESCRIPTION_LIMIT = 200;

function describe(err: unknown): { status?: number; error?: string; description?: string } {
  const e = err as { status?: number; error?: string; error_description?: string; cause?: unknown; code?: string };
  if (e.code === 'OAUTH_RESPONSE_BODY_ERROR') return { status: e.status, error: e.error, description: e.error_description };
  if (e.code === 'OAUTH_WWW_AUTHENTICATE_CHALLENGE') {
    const challenge = (e.cause as { parameters?: { error?: string; error_description?: string } }[] | undefined)?.[0]?.parameters;
    return { status: e.status, error: challenge?.error, description: challenge?.error_description };
  }
  if (e.cause instanceof Response || (e.cause as { status?: unknown } | undefined)?.status !== undefined) {
    return { status: (e.cause as { status: number }).status };
  }
  return {};
}

function causeChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let c: unknown = err; c && out.length < 5; c = (c as { cause?: unknown }).cause) out.push(c);
  return out;
}

/**
 * Turns whatever openid-client or the network threw into a CredentialError with a message fit for
 * the audit log: the endpoint, the HTTP status, the OAuth error code and a bounded, scrubbed description.
 */
function tokenError(err: unknown, ep: TokenEndpoint, secrets: readonly (string | undefined)[]): CredentialError {
  const at = `token endpoint ${ep.token_url}`;
  const chain = causeChain(err);
  const refused = chain.find((c) => c instanceof RefusedAddressError) as RefusedAddressError | undefined;
  if (refused) return new CredentialError('address_refused', `${at}: ${refused.message}`, false);
  const tls = tlsFailureOf(err);
  if (tls) return new CredentialError(tls.code, `${at}: ${tls.message}`, false);
  if (chain.some((c) => (c as Error).name === 'TimeoutError' || (c as Error).name === 'AbortError'))
    return new CredentialError('oauth2_token_endpoint_timeout', `${at} did not answer in time`, true);

  const { status, error, description } = describe(err);
  if (status === undefined && error === undefined) {
    const net = chain.map((c) => (c as { code?: unknown }).code).find((c): c is string => typeof c === 'string' && /^E[A-Z_]+$/.test(c));
    if (net || chain.some((c) => c instanceof TypeError)) {
      return new CredentialError('oauth2_token_endpoint_unreachable', `${at} could not be reached${net ? ` (${net})` : ''}`, true);
    }
    // openid-client's own checks (a 200 without access_token, not JSON, ...): the server may recover.
    return new CredentialError('oauth2_token_response_invalid', scrub(`${at}: ${(err as Error).message}`, secrets), true);
  }
  const detail = scrub(
    [status !== undefined ? `HTTP ${status}` : undefined, error, description?.slice(0, DESCRIPTION_LIMIT)].filter(Boolean).join(' '),
    secrets,
  );
  if (error === 'invalid_grant') return new CredentialError('oauth2_invalid_grant', `${at} refused the grant: ${detail}`, false);
  if (error === 'invalid_client' || error === 'unauthorized_client' || status === 401 || status === 403)
    return new CredentialError('oauth2_invalid_client', `${at} refused the client credentials: ${detail}`, false);
  if ((status !== undefined && (status >= 500 || status === 429 || status === 408)) || error === 'server_error' || error === 'temporarily_unavailable')
    return new CredentialError('oauth2_token_endpoint_error', `${at} failed: ${detail}`, true);
  return new CredentialError('oauth2_token_request_refused', `${at} refused the token request: ${detail}`, false);
}

function toTokens(res: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers, now: number): OAuth2Tokens {
  const expiresIn = res.expiresIn();
  return {
    access_token: res.access_token,
    ...(res.refresh_token ? { refresh_token: res.refresh_token } : {}),
    token_type: res.token_type,
    issued_at: new Date(now).toISOString(),
    ...(expiresIn !== undefined ? { expires_at: new Date(now + expiresIn * 1000).toISOString() } : {}),
    ...(res.scope ? { scope: res.scope } : {}),
  };
}

/**
 * Token requests through openid-client, sent over the delivery agent: a token URL is user input, so
 * it passes the same network policy as deliveries, for the same account (checked again at connect time).
 */
export function createTokenClient(deps: { agent: DeliveryAgent; policy: NetworkPolicy; timeoutS?: number }): TokenClient {
  const configure = (ep: TokenEndpoint): oidc.Configuration => {
    const url = new URL(ep.token_url);
    const networks = ep.allowed_networks ?? [];
    // Refused before openid-client builds a request: its error would hide the reason.
    const refused = refuseLiteral(deps.policy, url, networks);
    if (refused) throw new RefusedAddressError(refused);
    const dispatcher = deps.agent.forAccount(networks, ep.tls);
    const auth = ep.auth_method === 'client_secret_post' ? oidc.ClientSecretPost(ep.client_secret) : oidc.ClientSecretBasic(ep.client_secret);
    const config = new oidc.Configuration({ issuer: url.origin, token_endpoint: ep.token_url }, ep.client_id, undefined, auth);
    // BPO tools often live on internal http:// hosts; the network policy, not the scheme, guards them.
    if (url.protocol === 'http:') oidc.allowInsecureRequests(config);
    config.timeout = deps.timeoutS ?? 10;
    config[oidc.customFetch] = ((input: string, init: Record<string, unknown>) =>
      undiciFetch(input, { ...init, dispatcher } as never)) as unknown as oidc.CustomFetch;
    return config;
  };
  return {
    async clientCredentials(ep, params) {
      const body: Record<string, string> = {};
      if (params.scope) body.scope = params.scope;
      if (params.audience) body.audience = params.audience;
      const started = Date.now();
      try {
        return toTokens(await oidc.clientCredentialsGrant(configure(ep), body), started);
      } catch (err) {
        throw tokenError(err, ep, [ep.client_secret]);
      }
    },
    async refresh(ep, refreshToken) {
      const started = Date.now();
      try {
        return toTokens(await oidc.refreshTokenGrant(configure(ep), refreshToken), started);
      } catch (err) {
        throw tokenError(err, ep, [ep.client_secret, refreshToken]);
      }
    },
  };
}
