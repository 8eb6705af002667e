import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAccount } from '../auth.ts';
import { AppError, notFound } from '../errors.ts';
import type { DeliveryService } from '../deliveries/index.ts';
import type { NetworkPolicy } from '../delivery/network-policy.ts';
import type { Destination } from '../store/destinations.ts';
import type { Store } from '../store/index.ts';
import type { TransformEngine } from '../../sandboxes/index.ts';
import type { Config } from '../config.ts';
import { assertFanout, assertRoom } from '../tenant-limits.ts';
import { idParams, listOf, noContent } from './common.schema.ts';
import { checkConnectionReference } from './connections.ts';
import { createDestinationBody, destinationView, patchDestinationBody, rotateSecretBody, rotateSecretResult } from './destinations.schema.ts';
import { publicKeyOf } from '../delivery/signing.ts';
import { recoverBody, recoverResult } from './deliveries.schema.ts';
import { destinationTestRoutes, type DestinationTestRouteDeps } from './destination-test.ts';
import { checkUrlAddress } from './url-check.ts';
import { withAuthErrors } from './errors.schema.ts';

export interface DestinationRouteDeps extends DestinationTestRouteDeps {
  store: Pick<Store, 'accounts' | 'destinations' | 'mappings' | 'connections' | 'wakeups'>;
  policy: NetworkPolicy;
  /** Filters are checked as JSONata uploads are. */
  engine: Pick<TransformEngine, 'validate'>;
  /** Resuming releases the held deliveries in order; recover replays failed ones. */
  deliveries: Pick<DeliveryService, 'resumeHeld' | 'recover'>;
  config: Pick<Config, 'VOICEOI_MAX_DESTINATIONS' | 'VOICEOI_MAX_FANOUT'>;
}

const view = (d: Destination) => {
  const { account_id: _a, url, ...rest } = d;
  return d.mode === 'pull' ? rest : { url, ...rest };
};

export const destinationRoutes = (deps: DestinationRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const { store, policy } = deps;
  const tags = ['destinations'];
  await app.register(destinationTestRoutes(deps));

  const checkReachable = async (accountId: string, url: string) =>
    checkUrlAddress(policy, url, await store.accounts.allowedNetworks(accountId), { field: 'url', code: 'destination_address_refused' });

  /**
   * The mapping and pinned version a create or patch leaves the destination with. A version needs
   * a mapping, and exists for it; naming another mapping without a version unpins.
   */
  const checkMapping = async (
    accountId: string,
    body: { mapping_id?: string | null; mapping_version?: number | null },
    current?: Destination,
  ): Promise<{ mapping_version?: number | null }> => {
    const mappingId = body.mapping_id !== undefined ? body.mapping_id : (current?.mapping_id ?? null);
    if (body.mapping_id && !(await store.mappings.get(accountId, body.mapping_id)))
      throw new AppError(400, 'mapping_not_found', `mapping_id: no mapping '${body.mapping_id}' in this account`);
    const moved = current !== undefined && body.mapping_id !== undefined && body.mapping_id !== current.mapping_id;
    const version = body.mapping_version === undefined && moved ? null : body.mapping_version;
    if (version === undefined) return {};
    if (version === null) return { mapping_version: null };
    if (!mappingId) throw new AppError(400, 'mapping_version_without_mapping', 'mapping_version: set mapping_id too; a version pins one version of that mapping');
    // The read is by id alone: the account is checked again, whatever was checked before.
    const saved = await store.mappings.version(mappingId, version);
    if (!saved || saved.mapping.account_id !== accountId)
      throw new AppError(400, 'mapping_version_not_found', `mapping_version: mapping '${mappingId}' has no version ${version}`, { field: 'mapping_version' });
    return { mapping_version: version };
  };

  // Same check as a JSONata mapping upload, so the answer has the same shape (line, column, errors).
  const checkFilter = async (filter: string | null | undefined) => {
    if (!filter) return;
    const result = await deps.engine.validate('jsonata', filter);
    if (result.ok) return;
    const [first] = result.errors;
    throw new AppError(400, 'invalid_filter', first ? `filter: line ${first.line}, column ${first.column}: ${first.message}` : 'filter: the expression is invalid', {
      field: 'filter',
      line: first?.line,
      column: first?.column,
      errors: result.errors,
    });
  };

  const checkModeFields = (current: Destination, body: { url?: string; connection_id?: string | null; stream_origins?: string[] | null }) => {
    const refuse = (field: string, why: string) => {
      throw new AppError(400, 'validation_error', `${field}: ${why}`, { issues: [{ path: field, message: why }] });
    };
    if (current.mode === 'pull') {
      if (body.url !== undefined) refuse('url', 'a pull destination has no url: its consumer reads GET /v1/destinations/:id/stream');
      if (body.connection_id) refuse('connection_id', 'a pull destination sends no request, so it takes no connection');
    } else if (body.stream_origins?.length) refuse('stream_origins', 'only a pull destination has a stream');
  };

  const mustGet = async (accountId: string, id: string) => {
    const d = await store.destinations.get(accountId, id);
    if (!d) throw notFound('destination', id);
    return d;
  };

  app.post('/v1/destinations', {
    schema: {
      tags,
      operationId: 'createDestination',
      body: createDestinationBody,
      response: { 201: destinationView.extend({ signing_secret: z.string().optional().describe('hmac-sha256 only: shown here once') }), ...withAuthErrors(400, 404, 409) },
    },
  }, async (req, reply) => {
    const account = requireAccount(req);
    const existing = await store.destinations.list(account.id);
    assertRoom(existing.length, deps.config.VOICEOI_MAX_DESTINATIONS, 'destinations', 'destination_limit_reached');
    assertFanout(existing, req.body.event_types, deps.config.VOICEOI_MAX_FANOUT);
    if (req.body.url !== undefined) await checkReachable(account.id, req.body.url);
    const pin = await checkMapping(account.id, req.body);
    await checkConnectionReference(store, account.id, req.body.connection_id);
    await checkFilter(req.body.filter);
    const created = await store.destinations.create(account.id, { ...req.body, url: req.body.url ?? '', ...pin });
    // An ed25519 private key never leaves the store: receivers need only signing_public_key.
    const { signing_secret, ...destination } = created;
    return reply.status(201).send(destination.signature_scheme === 'hmac-sha256' ? { ...view(destination), signing_secret } : view(destination));
  });

  app.get('/v1/destinations', { schema: { tags, operationId: 'listDestinations', response: { 200: listOf(destinationView), ...withAuthErrors() } } }, async (req) => {
    const account = requireAccount(req);
    return { items: (await store.destinations.list(account.id)).map(view) };
  });

  app.get('/v1/destinations/:id', { schema: { tags, operationId: 'getDestination', params: idParams, response: { 200: destinationView, ...withAuthErrors(404) } } }, async (req) => {
    const account = requireAccount(req);
    return view(await mustGet(account.id, req.params.id));
  });

  app.patch('/v1/destinations/:id', {
    schema: { tags, operationId: 'updateDestination', params: idParams, body: patchDestinationBody, response: { 200: destinationView, ...withAuthErrors(400, 404, 409) } },
  }, async (req) => {
    const account = requireAccount(req);
    const current = await mustGet(account.id, req.params.id);
    if (req.body.event_types) {
      const others = (await store.destinations.list(account.id)).filter((d) => d.id !== current.id);
      assertFanout(others, req.body.event_types, deps.config.VOICEOI_MAX_FANOUT);
    }
    checkModeFields(current, req.body);
    if (req.body.url) await checkReachable(account.id, req.body.url);
    const pin = await checkMapping(account.id, req.body, current);
    await checkConnectionReference(store, account.id, req.body.connection_id);
    await checkFilter(req.body.filter);
    const updated = await store.destinations.update(account.id, req.params.id, { ...req.body, ...pin });
    if (!updated) throw notFound('destination', req.params.id);
    return view(updated);
  });

  app.delete('/v1/destinations/:id', { schema: { tags, operationId: 'deleteDestination', params: idParams, response: { 204: noContent, ...withAuthErrors(404) } } }, async (req, reply) => {
    const account = requireAccount(req);
    if (!(await store.destinations.delete(account.id, req.params.id))) throw notFound('destination', req.params.id);
    // Its live streams end, on every replica.
    await store.wakeups.publish(req.params.id, 'deleted');
    return reply.status(204).send();
  });

  app.post('/v1/destinations/:id/rotate-secret', {
    schema: { tags, operationId: 'rotateDestinationSecret', params: idParams, body: rotateSecretBody, response: { 200: rotateSecretResult, ...withAuthErrors(400, 404) } },
  }, async (req) => {
    const account = requireAccount(req);
    const grace = req.body.grace_s;
    const secret = await store.destinations.rotateSecret(account.id, req.params.id, grace, req.body.signature_scheme);
    if (!secret) throw notFound('destination', req.params.id);
    const previous_valid_until = grace > 0 ? new Date(Date.now() + grace * 1000).toISOString() : null;
    const publicKey = publicKeyOf(secret);
    // An ed25519 private key never leaves the store: the receiver needs only the public key.
    return publicKey
      ? { signing_public_key: publicKey, signature_scheme: 'ed25519' as const, previous_valid_until }
      : { signing_secret: secret, signing_public_key: null, signature_scheme: 'hmac-sha256' as const, previous_valid_until };
  });

  for (const action of ['pause', 'resume'] as const) {
    app.post(`/v1/destinations/:id/${action}`, { schema: { tags, operationId: `${action}Destination`, params: idParams, response: { 200: destinationView, ...withAuthErrors(404, 503) } } }, async (req) => {
      const account = requireAccount(req);
      const updated = await store.destinations.update(account.id, req.params.id, { paused: action === 'pause' });
      if (!updated) throw notFound('destination', req.params.id);
      if (action === 'resume') await deps.deliveries.resumeHeld(account.id, updated.id);
      return view(updated);
    });
  }

  app.post('/v1/destinations/:id/recover', {
    schema: { tags, operationId: 'recoverDestination', params: idParams, body: recoverBody, response: { 200: recoverResult, ...withAuthErrors(400, 404, 503) } },
  }, async (req) => {
    const account = requireAccount(req);
    return deps.deliveries.recover(account.id, req.params.id, req.body.since);
  });
};
