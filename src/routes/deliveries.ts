import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireAccount } from '../auth.ts';
import type { AppDeps } from '../app.ts';
import { idParams } from './destinations.schema.ts';

export const deliveryRoutes = (deps: AppDeps): FastifyPluginAsyncZod => async (app) => {
  app.get('/v1/deliveries/:id', { schema: { tags: ['deliveries'], params: idParams } }, async (req) => {
    const account = requireAccount(req);
    return deps.deliveries.get(account.id, req.params.id);
  });
};
