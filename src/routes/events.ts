import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { envelopeJsonSchema, eventDescriptions, eventEnvelopeSchema, eventTypes, type EventEnvelope } from '../events/catalog.ts';
import type { AppDeps } from '../app.ts';

export const EVENT_BODY_LIMIT = 1024 * 1024;

export const eventRoutes = (deps: AppDeps): FastifyPluginAsyncZod => async (app) => {
  app.post('/v1/events', {
    bodyLimit: EVENT_BODY_LIMIT,
    schema: {
      tags: ['events'],
      body: eventEnvelopeSchema,
      response: {
        202: z.object({ event_id: z.string(), deliveries: z.array(z.object({ id: z.string(), destination_id: z.string() })) }),
      },
    },
  }, async (req, reply) => {
    const p = req.principal;
    const body = req.body as EventEnvelope;
    let accountId: string;
    if (p?.kind === 'account') accountId = p.account.id;
    else {
      // The platform may post with the admin token on behalf of any account it names.
      if (!body.account_id) throw new AppError(400, 'account_required', 'account_id: required when posting with the admin token');
      if (!(await deps.store.accounts.get(body.account_id))) throw new AppError(404, 'account_not_found', `No account '${body.account_id}'`);
      accountId = body.account_id;
    }
    return reply.status(202).send(await deps.ingest.ingest(accountId, body));
  });

  app.get('/v1/event-types', {
    config: { public: true },
    schema: { tags: ['events'] },
  }, async () => ({
    items: eventTypes.map((type) => ({ type, description: eventDescriptions[type], schema: envelopeJsonSchema(type) })),
  }));
};
