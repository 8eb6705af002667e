import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAdmin } from '../auth.ts';
import { AppError } from '../errors.ts';
import type { Store } from '../store/index.ts';
import { accountView, createAccountBody, patchAccountBody } from './accounts.schema.ts';
import { idParams } from './common.schema.ts';
import { withAuthErrors } from './errors.schema.ts';

export interface AccountRouteDeps {
  store: Pick<Store, 'accounts' | 'ingestQuotas'>;
}

// Not notFound(): that one says "in this account", and the admin acts across accounts.
const noAccount = (id: string) => new AppError(404, 'account_not_found', `No account with id '${id}'`);

export const accountRoutes = (deps: AccountRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const tags = ['accounts'];
  const { accounts, ingestQuotas } = deps.store;
  const withQuota = async <A extends { id: string }>(account: A) => ({ ...account, ingest_quota: (await ingestQuotas.get(account.id)) ?? null });

  app.post('/v1/accounts', {
    schema: {
      tags,
      operationId: 'createAccount',
      description: 'Admin token only: creates an account and answers its API key, shown this once.',
      body: createAccountBody,
      response: { 201: z.object({ id: z.string(), name: z.string(), created_at: z.string(), api_key: z.string().describe('Shown here once') }), ...withAuthErrors(400) },
    },
  }, async (req, reply) => {
    requireAdmin(req);
    return reply.status(201).send(await accounts.create(req.body.name));
  });

  app.get('/v1/accounts/:id', { schema: { tags, operationId: 'getAccount', description: 'Admin token only.', params: idParams, response: { 200: accountView, ...withAuthErrors(404) } } }, async (req) => {
    requireAdmin(req);
    const found = await accounts.detail(req.params.id);
    if (!found) throw noAccount(req.params.id);
    return withQuota(found);
  });

  // The operator, never a tenant, opens private networks: an account key gets 403 here.
  app.patch('/v1/accounts/:id', {
    schema: { tags, operationId: 'updateAccount', description: 'Admin token only: an account key gets 403.', params: idParams, body: patchAccountBody, response: { 200: accountView, ...withAuthErrors(400, 404) } },
    // Before the body is validated: an account key learns nothing from this route but 403.
    preValidation: async (req) => requireAdmin(req),
  }, async (req) => {
    const { allowed_networks, ingest_quota, stream_retention_hours, data_retention_days } = req.body;
    const id = req.params.id;
    if (!(await accounts.detail(id))) throw noAccount(id);
    if (stream_retention_hours !== undefined) await accounts.setStreamRetention(id, stream_retention_hours);
    if (allowed_networks !== undefined) await accounts.setAllowedNetworks(id, [...new Set(allowed_networks)]);
    if (data_retention_days !== undefined) await accounts.setDataRetentionDays(id, data_retention_days);
    if (ingest_quota !== undefined) await ingestQuotas.set(id, ingest_quota);
    // Read once all are set: the answer shows the account as it now is.
    const found = await accounts.detail(id);
    if (!found) throw noAccount(id);
    return withQuota(found);
  });
};
