import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { createAuthenticator } from './auth.ts';
import type { Config } from './config.ts';
import type { DeliveryService } from './deliveries.ts';
import type { NetworkPolicy } from './delivery/network-policy.ts';
import { registerErrorHandler } from './error-handler.ts';
import type { IngestService } from './ingest.ts';
import type { TransformEngine } from '../sandboxes/index.ts';
import { mappingRoutes } from './routes/mappings.ts';
import type { Metrics } from './metrics.ts';
import type { RecoverResult } from './recover.ts';
import { codecRoutes } from './routes/codec.ts';
import { accountRoutes } from './routes/accounts.ts';
import { connectionRoutes } from './routes/connections.ts';
import { deliveryRoutes } from './routes/deliveries.ts';
import { destinationRoutes } from './routes/destinations.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { oauth2Routes } from './routes/oauth2.ts';
import type { Store } from './store/index.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without a bearer token. */
    public?: boolean;
  }
}

export interface AppDeps {
  config: Config;
  store: Store;
  client: Client;
  ingest: IngestService;
  deliveries: DeliveryService;
  policy: NetworkPolicy;
  engine: TransformEngine;
  adminToken: string;
  resumeDeliveries(accountId: string, destinationId: string): Promise<void>;
  recoverDeliveries(accountId: string, destinationId: string, since: string): Promise<RecoverResult>;
  /** The Temporal payload codec served at /codec for the Temporal UI. */
  codec: PayloadCodec;
  /** Temporal UI origins whose browser may call /codec (src/routes/codec.ts). */
  codecOrigins: readonly string[];
  metrics: Metrics;
}

/** The whole HTTP API as one plugin; src/server.ts is the only place that listens. */
export default fp(async function voiceoiApp(fastify: FastifyInstance, deps: AppDeps) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);

  await app.register(swagger, {
    openapi: {
      info: { title: 'VoiceOI Hooks', version: deps.config.version, description: 'Webhook & event API for VoiceOI call events' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const authenticate = createAuthenticator({ adminToken: deps.adminToken, accounts: deps.store.accounts });
  app.addHook('onRequest', async (req) => {
    // Authenticate before the body is read, so an unauthenticated caller never costs a 1 MiB parse.
    if (req.routeOptions.config.public || req.url.startsWith('/docs') || req.routeOptions.url === undefined) return;
    req.principal = await authenticate(req);
  });

  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes(deps));
  await app.register(accountRoutes(deps));
  await app.register(destinationRoutes(deps));
  await app.register(connectionRoutes(deps));
  await app.register(oauth2Routes(deps));
  await app.register(eventRoutes(deps));
  await app.register(deliveryRoutes(deps));
  await app.register(mappingRoutes(deps));
  await app.register(codecRoutes(deps));
  await app.register(metricsRoutes(deps));
});
