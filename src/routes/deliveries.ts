import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireAccount } from '../auth.ts';
import type { DeliveryService } from '../deliveries/index.ts';
import type { Store } from '../store/index.ts';
import { idParams } from './common.schema.ts';
import { cancelRequested, deliveryEvent, deliveryList, deliveryView, listDeliveriesQuery, replayStarted } from './deliveries.schema.ts';
import { withAuthErrors } from './errors.schema.ts';

export interface DeliveryRouteDeps {
  deliveries: Pick<DeliveryService, 'list' | 'get' | 'event' | 'retry' | 'cancel'>;
  /** A pull destination's consumer reports each message's answer (acks), shown with its delivery. */
  store: Pick<Store, 'messages'>;
}

export const deliveryRoutes = (deps: DeliveryRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const tags = ['deliveries'];

  app.get('/v1/deliveries', { schema: { tags, operationId: 'listDeliveries', querystring: listDeliveriesQuery, response: { 200: deliveryList, ...withAuthErrors(400, 503) } } }, async (req) => {
    const account = requireAccount(req);
    return deps.deliveries.list(account.id, req.query);
  });

  app.get('/v1/deliveries/:id', { schema: { tags, operationId: 'getDelivery', params: idParams, response: { 200: deliveryView, ...withAuthErrors(404, 503) } } }, async (req) => {
    const account = requireAccount(req);
    const delivery = await deps.deliveries.get(account.id, req.params.id);
    return { ...delivery, acks: await deps.store.messages.acksOf(delivery.id) };
  });

  app.get('/v1/deliveries/:id/event', { schema: { tags, operationId: 'getDeliveryEvent', params: idParams, response: { 200: deliveryEvent, ...withAuthErrors(404, 410, 503) } } }, async (req) => {
    const account = requireAccount(req);
    return deps.deliveries.event(account.id, req.params.id);
  });

  app.post('/v1/deliveries/:id/retry', { schema: { tags, operationId: 'retryDelivery', params: idParams, response: { 202: replayStarted, ...withAuthErrors(404, 409, 410, 503) } } }, async (req, reply) => {
    const account = requireAccount(req);
    return reply.status(202).send(await deps.deliveries.retry(account.id, req.params.id));
  });

  app.post('/v1/deliveries/:id/cancel', { schema: { tags, operationId: 'cancelDelivery', params: idParams, response: { 202: cancelRequested, ...withAuthErrors(404, 409, 503) } } }, async (req, reply) => {
    const account = requireAccount(req);
    const cancelled = await deps.deliveries.cancel(account.id, req.params.id);
    return reply.status(202).send({ ...cancelled, status: 'cancelling' as const });
  });
};
