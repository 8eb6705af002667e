import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { assertRoom } from '../tenant-limits.ts';
import { requireAccount } from '../auth.ts';
import type { Config } from '../config.ts';
import { initialStatus, mergeSpec, specFromBody, viewOf } from '../connections/spec.ts';
import { checkTls, type TlsMaterial } from '../connections/tls.ts';
import type { NetworkPolicy } from '../delivery/network-policy.ts';
import { AppError, formatIssues, notFound, zodIssues } from '../errors.ts';
import type { Store } from '../store/index.ts';
import { idParams, listOf, noContent } from './common.schema.ts';
import { withAuthErrors } from './errors.schema.ts';
import type { ConnectionView } from './connections.schema.ts';
import { connectionView, createConnectionBody, patchConnectionBody, patchSchemas } from './connections.schema.ts';
import { checkUrlAddress } from './url-check.ts';

export interface ConnectionRouteDeps {
  store: Pick<Store, 'accounts' | 'connections'>;
  policy: NetworkPolicy;
  config: Pick<Config, 'VOICEOI_OAUTH2_PROVIDERS' | 'VOICEOI_MAX_CONNECTIONS'>;
}

function unknownProvider(provider: string, configured: string[]): AppError {
  return new AppError(
    400,
    'oauth2_provider_unknown',
    `provider: '${provider}' is not a configured OAuth2 provider (${configured.length ? `configured: ${configured.join(', ')}` : 'none is configured: set VOICEOI_OAUTH2_PROVIDERS'})`,
  );
}

/** A token URL is a request the worker makes for the tenant: the same network policy as a destination's. */
async function checkTokenUrl(deps: Pick<ConnectionRouteDeps, 'store' | 'policy'>, accountId: string, tokenUrl: unknown): Promise<void> {
  if (typeof tokenUrl !== 'string') return;
  const networks = await deps.store.accounts.allowedNetworks(accountId);
  await checkUrlAddress(deps.policy, tokenUrl, networks, { field: 'token_url', code: 'token_url_address_refused' });
}

export const connectionRoutes = (deps: ConnectionRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const { store } = deps;
  const providers = deps.config.VOICEOI_OAUTH2_PROVIDERS;
  const tags = ['connections'];
  const view = (c: Parameters<typeof viewOf>[0]) => viewOf(c) as ConnectionView;

  app.post('/v1/connections', {
    schema: { tags, operationId: 'createConnection', body: createConnectionBody, response: { 201: connectionView, ...withAuthErrors(400, 409) } },
  }, async (req, reply) => {
    const account = requireAccount(req);
    const body = req.body;
    assertRoom((await store.connections.list(account.id)).length, deps.config.VOICEOI_MAX_CONNECTIONS, 'connections', 'connection_limit_reached');
    if (body.kind === 'oauth2_authorization_code' && !providers[body.provider]) throw unknownProvider(body.provider, Object.keys(providers));
    if (body.kind === 'oauth2_client_credentials') await checkTokenUrl(deps, account.id, body.token_url);
    const tls = body.tls ? checkTls(body.tls) : undefined;
    const created = await store.connections.create(account.id, { name: body.name, spec: specFromBody(body), status: initialStatus(body.kind), tls });
    // Secrets are write-only, even here: the caller already has them.
    return reply.status(201).send(view(created));
  });

  app.get('/v1/connections', { schema: { tags, operationId: 'listConnections', response: { 200: listOf(connectionView), ...withAuthErrors() } } }, async (req) => {
    const account = requireAccount(req);
    return { items: (await store.connections.list(account.id)).map(view) };
  });

  app.get('/v1/connections/:id', { schema: { tags, operationId: 'getConnection', params: idParams, response: { 200: connectionView, ...withAuthErrors(404) } } }, async (req) => {
    const account = requireAccount(req);
    const c = await store.connections.get(account.id, req.params.id);
    if (!c) throw notFound('connection', req.params.id);
    return view(c);
  });

  app.patch('/v1/connections/:id', {
    schema: { tags, operationId: 'updateConnection', params: idParams, body: patchConnectionBody, response: { 200: connectionView, ...withAuthErrors(400, 404) } },
  }, async (req) => {
    const account = requireAccount(req);
    const rec = await store.connections.getRecord(account.id, req.params.id);
    if (!rec) throw notFound('connection', req.params.id);
    const raw = req.body as Record<string, unknown>;
    if (raw.kind !== undefined && raw.kind !== rec.kind) {
      throw new AppError(400, 'connection_kind_immutable', `kind: a ${rec.kind} connection cannot become ${String(raw.kind)}; create a new connection instead`);
    }
    const parsed = patchSchemas[rec.kind].safeParse(raw);
    if (!parsed.success) {
      const issues = zodIssues(parsed.error);
      throw new AppError(400, 'validation_error', formatIssues(issues), { issues });
    }
    // TLS is applied apart from the kind's fields: it replaces the whole setting (null removes it).
    const { tls, ...body } = parsed.data as Record<string, unknown> & { tls?: TlsMaterial | null };
    if (rec.kind === 'oauth2_authorization_code' && typeof body.provider === 'string' && !providers[body.provider]) {
      throw unknownProvider(body.provider, Object.keys(providers));
    }
    await checkTokenUrl(deps, account.id, body.token_url);
    const { spec, changed, reauthorize } = mergeSpec(rec, body);
    const updated = await store.connections.update(account.id, rec.id, {
      name: body.name as string | undefined,
      ...(changed ? { spec } : {}),
      // New credentials deserve a fresh verdict: the next token request decides the status again.
      ...(changed && rec.kind !== 'oauth2_authorization_code' ? { status: 'connected', last_error: null } : {}),
      ...(reauthorize ? { clearTokens: true, status: 'needs_reauth', last_error: null } : {}),
      ...(tls !== undefined ? { tls: tls && checkTls(tls) } : {}),
    });
    if (!updated) throw notFound('connection', req.params.id);
    return view(updated);
  });

  app.delete('/v1/connections/:id', { schema: { tags, operationId: 'deleteConnection', params: idParams, response: { 204: noContent, ...withAuthErrors(404, 409) } } }, async (req, reply) => {
    const account = requireAccount(req);
    if (!(await store.connections.get(account.id, req.params.id))) throw notFound('connection', req.params.id);
    const users = await store.connections.usedBy(account.id, req.params.id);
    if (users.length > 0) {
      throw new AppError(409, 'connection_in_use', `connection ${req.params.id} is used by ${users.length} destination(s); point them elsewhere first`, {
        destination_ids: users,
      });
    }
    await store.connections.delete(account.id, req.params.id);
    return reply.status(204).send();
  });
};

/** A destination may only name a connection of its own account (404 otherwise, as for any foreign resource). */
export async function checkConnectionReference(store: Pick<Store, 'connections'>, accountId: string, connectionId: string | null | undefined): Promise<void> {
  if (connectionId === undefined || connectionId === null) return;
  if (!(await store.connections.get(accountId, connectionId))) {
    throw new AppError(404, 'connection_not_found', `connection_id: no connection with id '${connectionId}' in this account`);
  }
}
