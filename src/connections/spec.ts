import type { ClientAuthMethod, Connection, ConnectionKind, ConnectionRecord, ConnectionSpec, ConnectionStatus } from '../store/connections.ts';

/** What a tenant gives for a connection of each kind, once validated (src/routes/connections.schema.ts). */
export type ConnectionInput =
  | { kind: 'headers'; headers: Record<string, string> }
  | { kind: 'basic'; username: string; password: string }
  | {
      kind: 'oauth2_client_credentials';
      token_url: string;
      client_id: string;
      client_secret: string;
      scope?: string | null;
      audience?: string | null;
      auth_method: ClientAuthMethod;
    }
  | { kind: 'oauth2_authorization_code'; provider: string; scope?: string | null };

/** A PATCH of a connection of kind K: any of its fields; what is not sent keeps its stored value. */
type Patch<K extends ConnectionKind> = Partial<Omit<Extract<ConnectionInput, { kind: K }>, 'kind'>>;

/** Splits a create body into what may be shown (settings) and what is write-only (secrets). */
export function specFromBody(body: ConnectionInput): ConnectionSpec {
  switch (body.kind) {
    case 'headers':
      return { kind: 'headers', settings: { header_names: Object.keys(body.headers) }, secrets: { headers: body.headers } };
    case 'basic':
      return { kind: 'basic', settings: { username: body.username }, secrets: { password: body.password } };
    case 'oauth2_client_credentials':
      return {
        kind: 'oauth2_client_credentials',
        settings: { token_url: body.token_url, client_id: body.client_id, scope: body.scope ?? null, audience: body.audience ?? null, auth_method: body.auth_method },
        secrets: { client_secret: body.client_secret },
      };
    case 'oauth2_authorization_code':
      return { kind: 'oauth2_authorization_code', settings: { provider: body.provider, scope: body.scope ?? null }, secrets: {} };
  }
}

/** A new connection is usable at once, except an authorization-code one, which waits for the user. */
export const initialStatus = (kind: ConnectionSpec['kind']): ConnectionStatus => (kind === 'oauth2_authorization_code' ? 'needs_reauth' : 'connected');

/**
 * Applies a PATCH to a stored connection: fields not sent keep their stored value (secrets included).
 * `changed` is false when only the name changed; `reauthorize` when stored tokens no longer apply.
 */
export function mergeSpec(rec: ConnectionRecord, body: Record<string, unknown>): { spec: ConnectionSpec; changed: boolean; reauthorize: boolean } {
  const sent = (k: string) => body[k] !== undefined;
  const changed = Object.keys(body).some((k) => k !== 'name' && k !== 'kind' && body[k] !== undefined);
  switch (rec.kind) {
    case 'headers': {
      const b = body as Patch<'headers'>;
      const headers = b.headers ?? (rec.secrets as { headers: Record<string, string> }).headers;
      return { spec: { kind: 'headers', settings: { header_names: Object.keys(headers) }, secrets: { headers } }, changed, reauthorize: false };
    }
    case 'basic': {
      const b = body as Patch<'basic'>;
      return {
        spec: { kind: 'basic', settings: { username: b.username ?? rec.settings.username }, secrets: { password: b.password ?? (rec.secrets as { password: string }).password } },
        changed,
        reauthorize: false,
      };
    }
    case 'oauth2_client_credentials': {
      const b = body as Patch<'oauth2_client_credentials'>;
      const s = rec.settings;
      return {
        spec: {
          kind: 'oauth2_client_credentials',
          settings: {
            token_url: b.token_url ?? s.token_url,
            client_id: b.client_id ?? s.client_id,
            scope: sent('scope') ? (b.scope ?? null) : s.scope,
            audience: sent('audience') ? (b.audience ?? null) : s.audience,
            auth_method: b.auth_method ?? s.auth_method,
          },
          secrets: { client_secret: b.client_secret ?? (rec.secrets as { client_secret: string }).client_secret },
        },
        changed,
        reauthorize: false,
      };
    }
    case 'oauth2_authorization_code': {
      const b = body as Patch<'oauth2_authorization_code'>;
      const settings = { provider: b.provider ?? rec.settings.provider, scope: sent('scope') ? (b.scope ?? null) : rec.settings.scope };
      // Tokens granted for another provider or scope are not what the user now asks for.
      const reauthorize = settings.provider !== rec.settings.provider || settings.scope !== rec.settings.scope;
      return { spec: { kind: 'oauth2_authorization_code', settings, secrets: {} }, changed: reauthorize, reauthorize };
    }
  }
}

export const authorizePath = (id: string) => `/v1/connections/${id}/oauth2/start`;

/** The API's view of a connection: settings flattened, never a secret or token. */
export function viewOf(c: Connection) {
  const common = { id: c.id, name: c.name, status: c.status, last_error: c.last_error, tls: c.tls, created_at: c.created_at, updated_at: c.updated_at };
  switch (c.kind) {
    case 'headers':
      return { ...common, kind: c.kind, header_names: c.settings.header_names };
    case 'basic':
      return { ...common, kind: c.kind, username: c.settings.username };
    case 'oauth2_client_credentials':
      return { ...common, kind: c.kind, ...c.settings };
    case 'oauth2_authorization_code':
      return {
        ...common,
        kind: c.kind,
        ...c.settings,
        authorized_at: c.authorized_at,
        token_expires_at: c.token_expires_at,
        authorize_path: authorizePath(c.id),
      };
  }
}
