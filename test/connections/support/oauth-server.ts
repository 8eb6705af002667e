import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * A real OAuth 2.0 / OpenID Connect authorization server (oidc-provider) on loopback, standing in for
 * a BPO's CRM identity provider. Client secrets are random per server so leak checks can look for them.
 */
export interface TokenRequest {
  status: number;
  grant_type?: string;
  client_id?: string;
  audience?: string;
  scope?: string;
  /** How the client authenticated: an Authorization header, or client_secret in the body. */
  auth: 'basic' | 'post' | 'none';
}

export interface OAuthServer {
  issuer: string;
  authorizeUrl: string;
  tokenUrl: string;
  provider: Provider;
  clients: {
    basic: { id: string; secret: string };
    post: { id: string; secret: string };
    app: { id: string; secret: string };
  };
  /** Every token endpoint request, in order (status is the HTTP status answered). */
  tokenRequests: TokenRequest[];
  /** The successful ones. */
  grants(): TokenRequest[];
  /** Behind TLS with a client CA: the subject CN of the client certificate of each token request. */
  clientCertificates: (string | undefined)[];
  /** Lifetimes (seconds) of the tokens issued from now on. */
  ttl: { clientCredentials: number; accessToken: number };
  /** RFC 7662 introspection over HTTP, as a resource server would do it. */
  introspect(token: string): Promise<{ active: boolean; client_id?: string; sub?: string; exp?: number }>;
  /** Destroys every refresh token issued so far: the next refresh gets invalid_grant. */
  revokeRefreshTokens(): Promise<void>;
  close(): Promise<void>;
}

const secret = (label: string) => `${label}_${randomBytes(18).toString('base64url')}`;

/**
 * `tls`: serve HTTPS with this certificate (test/support/certificates.ts), and with `clientCa` require
 * a client certificate that CA issued (mutual TLS, RFC 8705), as a BPO's identity provider may.
 */
export async function startOAuthServer(opts: { tls?: { cert: string; key: string; clientCa?: string } } = {}): Promise<OAuthServer> {
  const { tls } = opts;
  const server: Server = tls
    ? (createHttpsServer({ cert: tls.cert, key: tls.key, ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}) }) as unknown as Server)
    : createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients = {
    basic: { id: 'crm-machine-basic', secret: secret('ccb') },
    post: { id: 'crm-machine-post', secret: secret('ccp') },
    app: { id: 'crm-app', secret: secret('app') },
  };
  const rs = { id: 'crm-api', secret: secret('rs') };
  const ttl = { clientCredentials: 3600, accessToken: 3600 };
  const refreshTokens = new Set<string>();

  const provider = new Provider(issuer, {
    clients: [
      { client_id: clients.basic.id, client_secret: clients.basic.secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_basic', scope: 'crm.write' },
      { client_id: clients.post.id, client_secret: clients.post.secret, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], token_endpoint_auth_method: 'client_secret_post' },
      {
        client_id: clients.app.id,
        client_secret: clients.app.secret,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        // Native + loopback: the redirect URI's port may differ (RFC 8252), so any test API port works.
        application_type: 'native',
        redirect_uris: ['http://127.0.0.1/v1/oauth2/callback'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      { client_id: rs.id, client_secret: rs.secret, grant_types: [], redirect_uris: [], response_types: [] },
    ],
    scopes: ['openid', 'offline_access', 'crm.write'],
    extraParams: ['audience'],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      devInteractions: { enabled: true },
    },
    pkce: { required: () => true },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(t: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: {
      ClientCredentials: () => ttl.clientCredentials,
      AccessToken: () => ttl.accessToken,
      RefreshToken: () => 86_400,
      Grant: () => 86_400,
      Session: () => 86_400,
      Interaction: () => 600,
      IdToken: () => 3600,
      AuthorizationCode: () => 60,
    },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    cookies: { keys: [randomBytes(16).toString('hex')] },
  });
  const tokenRequests: TokenRequest[] = [];
  const clientCertificates: (string | undefined)[] = [];
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path !== '/token') return;
    if (tls) clientCertificates.push((ctx.req.socket as TLSSocket).getPeerCertificate?.()?.subject?.CN as string | undefined);
    const body = (ctx.oidc?.body ?? {}) as Record<string, string | undefined>;
    tokenRequests.push({
      status: ctx.status,
      grant_type: body.grant_type,
      client_id: ctx.oidc?.client?.clientId ?? body.client_id,
      audience: body.audience,
      scope: body.scope,
      auth: ctx.get('authorization').startsWith('Basic ') ? 'basic' : body.client_secret ? 'post' : 'none',
    });
  });
  provider.on('refresh_token.saved', (token) => refreshTokens.add(token.jti));
  // Development-mode warnings about the dev interactions and keys are expected here.
  provider.on('server_error', () => undefined);
  server.on('request', provider.callback());

  return {
    issuer,
    authorizeUrl: `${issuer}/auth`,
    tokenUrl: `${issuer}/token`,
    provider,
    clients,
    tokenRequests,
    clientCertificates,
    grants: () => tokenRequests.filter((r) => r.status === 200),
    ttl,
    async introspect(token) {
      const res = await fetch(`${issuer}/token/introspection`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${rs.id}:${rs.secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token }),
      });
      if (!res.ok) throw new Error(`introspection answered ${res.status}`);
      return (await res.json()) as { active: boolean; client_id?: string; sub?: string; exp?: number };
    },
    async revokeRefreshTokens() {
      for (const jti of refreshTokens) {
        const t = await provider.RefreshToken.find(jti);
        await t?.destroy();
      }
    },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
