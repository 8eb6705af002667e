import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Metrics } from '../metrics.ts';

export interface MetricsRouteDeps {
  metrics: Metrics;
}

// Public, as the contract lists it ("any"): scrapers rarely carry tokens, and the series are
// counts by event type, outcome and status class, with no account, destination or event in a label.
export const metricsRoutes = (deps: MetricsRouteDeps): FastifyPluginAsyncZod => async (app) => {
  app.get('/metrics', { config: { public: true }, schema: { tags: ['operations'], summary: 'Prometheus metrics of this process' } }, async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return reply.send(await deps.metrics.registry.metrics());
  });
};
