import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAdmin } from '../auth.ts';
import { AppError } from '../errors.ts';
import type { Store } from '../store/index.ts';
import { accountView, createAccountBody, patchAccountBody } from './accounts.schema.ts';
import { idParams } from './common.schema.ts';

export interface AccountRouteDeps {
  store: Pick<Store, 'accounts'>;
}

// Not notFound(): that one says "in this account", and the admin acts across accounts.
const noAccount = (id: string) => new AppError(404, 'account_not_found', `No account with id '${id}'`);

export const accountRoutes = (deps: AccountRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const tags = ['accounts'];
  const { accounts } = deps.store;

  app.post('/v1/accounts', {
    schema: {
      tags,
      body: createAccountBody,
      response: { 201: z.object({ id: z.string(), name: z.string(), created_at: z.string(), api_key: z.string() }) },
    },
  }, async (req, reply) => {
    requireAdmin(req);
    return reply.status(201).send(await accounts.create(req.body.name));
  });

  app.get('/v1/accounts/:id', { schema: { tags, params: idParams, response: { 200: accountView } } }, async (req) => {
    requireAdmin(req);
    const found = await accounts.detail(req.params.id);
    if (!found) throw noAccount(req.params.id);
    return found;
  });

  // The operator, never a tenant, opens private networks: an account key gets 403 here.
  app.patch('/v1/accounts/:id', {
    schema: { tags, params: idParams, body: patchAccountBody, response: { 200: accountView } },
    // Before the body is validated: an account key learns nothing from this route but 403.
    preValidation: async (req) => requireAdmin(req),
  }, async (req) => {
    const { allowed_networks, data_retention_days } = req.body;
    let updated = await accounts.detail(req.params.id);
    if (updated && allowed_networks) updated = await accounts.setAllowedNetworks(req.params.id, [...new Set(allowed_networks)]);
    if (updated && data_retention_days !== undefined) updated = await accounts.setDataRetentionDays(req.params.id, data_retention_days);
    if (!updated) throw noAccount(req.params.id);
    return updated;
  });
};
