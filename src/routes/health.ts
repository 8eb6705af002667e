import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.ts';
import type { Store } from '../store/index.ts';

export interface HealthRouteDeps {
  config: Pick<Config, 'version'>;
  store: Pick<Store, 'ping'>;
  client: Pick<Client, 'workflowService'>;
}

export const healthRoutes = (deps: HealthRouteDeps): FastifyPluginAsyncZod => async (app) => {
  app.get('/healthz', { config: { public: true }, schema: { tags: ['operations'] } }, async (_req, reply) => {
    const checks: Record<string, string> = {};
    try {
      await deps.store.ping();
      checks.database = 'ok';
    } catch (err) {
      checks.database = `error: ${(err as Error).message}`;
    }
    try {
      await deps.client.workflowService.getSystemInfo({});
      checks.temporal = 'ok';
    } catch (err) {
      checks.temporal = `error: ${(err as Error).message}`;
    }
    const ok = Object.values(checks).every((v) => v === 'ok');
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', version: deps.config.version, checks });
  });
};
