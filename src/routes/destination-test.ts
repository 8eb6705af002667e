import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DeliveryEvent } from '../../workflows/types.ts';
import { requireAccount } from '../auth.ts';
import { AppError, DomainError, notFound } from '../errors.ts';
import { eventTypeSchema } from '../events/catalog.ts';
import { sampleEvent } from '../events/samples.ts';
import { newId, nowIso } from '../ids.ts';
import type { IngestService } from '../ingest.ts';
import type { Store } from '../store/index.ts';
import { deliveryId } from '../temporal/delivery-ids.ts';
import { idParams } from './common.schema.ts';
import { withAuthErrors } from './errors.schema.ts';

export interface DestinationTestRouteDeps {
  store: Pick<Store, 'destinations'>;
  ingest: Pick<IngestService, 'startDelivery'>;
}

const testSendBody = z.strictObject({
  event_type: eventTypeSchema.describe('The catalog type whose sample event is sent.'),
});

/**
 * POST /v1/destinations/:id/test: the catalog's sample event of a type, to this destination only,
 * through its mapping and connection but not its filter, signed as usual and marked X-VoiceOI-Test.
 * Each send is its own delivery (a fresh event id), listed in GET /v1/deliveries like any other.
 */
export const destinationTestRoutes = (deps: DestinationTestRouteDeps): FastifyPluginAsyncZod => async (app) => {
  app.post('/v1/destinations/:id/test', {
    schema: {
      tags: ['destinations'],
      operationId: 'testDestination',
      params: idParams,
      body: testSendBody,
      response: { 202: z.object({ delivery: z.object({ id: z.string().describe('Follow it with GET /v1/deliveries/:id') }) }), ...withAuthErrors(400, 404, 409, 503) },
    },
  }, async (req, reply) => {
    const account = requireAccount(req);
    const destination = await deps.store.destinations.get(account.id, req.params.id);
    if (!destination) throw notFound('destination', req.params.id);
    if (!destination.enabled) {
      throw new AppError(409, 'destination_disabled', `destination ${destination.id} is disabled (${destination.disabled_reason ?? 'by request'}); enable it to send a test`);
    }
    const acceptedAt = nowIso();
    const event = { ...sampleEvent(req.body.event_type, newId('test'), acceptedAt), account_id: account.id } as DeliveryEvent;
    try {
      await deps.ingest.startDelivery(destination, event, acceptedAt, undefined, { test: true });
    } catch (err) {
      if (err instanceof AppError || err instanceof DomainError) throw err;
      throw new DomainError('temporal_unavailable', `The test was not sent: starting its delivery failed (${(err as Error).message}). Try again.`);
    }
    return reply.status(202).send({ delivery: { id: deliveryId(destination.id, event.id) } });
  });
};
