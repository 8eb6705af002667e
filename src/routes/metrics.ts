import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Metrics } from '../metrics.ts';

export interface MetricsRouteDeps {
  metrics: Metrics;
}

// Public, as the contract lists it ("any"): scrapers rarely carry tokens, and the series are
// counts by event type, outcome and status class, with no account, destination or event in a label.
export const metricsRoutes = (deps: MetricsRouteDeps): FastifyPluginAsyncZod => async (app) => {
  app.get('/metrics', { config: { public: true }, schema: {
      tags: ['operations'],
      operationId: 'getMetrics',
      security: [],
      summary: 'Prometheus metrics of this process',
      response: { 200: { description: 'The Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } } },
    },
  }, async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return reply.send(await deps.metrics.registry.metrics());
  });
};
