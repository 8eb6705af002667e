import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAdmin } from '../auth.ts';
import type { AppDeps } from '../app.ts';

export const accountRoutes = (deps: AppDeps): FastifyPluginAsyncZod => async (app) => {
  app.post('/v1/accounts', {
    schema: {
      tags: ['accounts'],
      body: z.object({ name: z.string().trim().min(1).max(200) }),
      response: { 201: z.object({ id: z.string(), name: z.string(), created_at: z.string(), api_key: z.string() }) },
    },
  }, async (req, reply) => {
    requireAdmin(req);
    return reply.status(201).send(await deps.store.accounts.create(req.body.name));
  });
};
