import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Client } from '@temporalio/client';
import type { Config } from '../config.ts';
import type { Store } from '../store/index.ts';
import { z } from 'zod';

const health = z.object({
  status: z.enum(['ok', 'degraded']),
  version: z.string(),
  checks: z.record(z.string(), z.string()).describe('Per dependency (database, temporal): "ok" or "error: <why>"'),
});

export interface HealthRouteDeps {
  config: Pick<Config, 'version'>;
  store: Pick<Store, 'ping'>;
  client: Pick<Client, 'workflowService'>;
}

export const healthRoutes = (deps: HealthRouteDeps): FastifyPluginAsyncZod => async (app) => {
  app.get('/healthz', {
    config: { public: true },
    schema: {
      tags: ['operations'],
      operationId: 'getHealth',
      security: [],
      description: '200 when the database and Temporal answer, 503 (same body, `status: "degraded"`) when either does not.',
      response: { 200: health, 503: health },
    },
  }, async (_req, reply) => {
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
