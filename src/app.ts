import fastifyCookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from './app-deps.ts';
import { createAuthenticator } from './auth.ts';
import { registerKeyFailureLimit } from './auth-rate-limit.ts';
import { registerErrorHandler } from './error-handler.ts';
import { registerJsonParser } from './json-depth.ts';
import { openapiOptions } from './openapi.ts';
import { accountRoutes } from './routes/accounts.ts';
import { codecRoutes } from './routes/codec.ts';
import { connectionRoutes } from './routes/connections.ts';
import { consoleRoutes, setPageSecurityHeaders } from './routes/console.ts';
import { deliveryRoutes } from './routes/deliveries.ts';
import { callRoutes } from './routes/calls.ts';
import { destinationRoutes } from './routes/destinations.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { mappingRoutes } from './routes/mappings.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { oauth2Routes } from './routes/oauth2.ts';
import { sessionRoutes } from './routes/session.ts';
import { createSessionService } from './sessions.ts';
import { streamRoutes } from './routes/streams.ts';
import { streamPrincipal, streamTokenOf } from './stream-tokens.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without a bearer token. */
    public?: boolean;
    /** Also reachable with a stream token in `?token=` (src/stream-tokens.ts): a pull destination's stream and messages. */
    streamToken?: boolean;
  }
}

/** The whole HTTP API as one plugin; src/server.ts is the only place that listens. Each route takes its own slice of `deps`. */
export default fp(async function voiceoiApp(fastify: FastifyInstance, deps: AppDeps) {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandler(app);
  registerJsonParser(app);

  await app.register(swagger, openapiOptions(deps.config.version));
  // The docs share the console's origin, so they get its policy: a page that can be framed there could
  // be used to trick a signed-in integrator (and its scripts may come only from this origin).
  await app.register(async (docs) => {
    docs.addHook('onSend', async (_req, reply) => setPageSecurityHeaders(reply));
    await docs.register(swaggerUi, { routePrefix: '/docs' });
  });

  // Console sign-in: cookies are parsed for every route, before authentication (src/sessions.ts).
  await app.register(fastifyCookie);
  const sessions = createSessionService({ store: deps.store.sessions, config: deps.config });
  const authenticate = createAuthenticator({ adminToken: deps.adminToken, accounts: deps.store.accounts, sessions });
  const keyFailures = await registerKeyFailureLimit(app, deps.config, deps.store.keyFailures);
  app.addHook('onRequest', async (req) => {
    // Authenticate before the body is read, so an unauthenticated caller never costs a 1 MiB parse.
    if (req.routeOptions.config.public || req.url.startsWith('/docs') || req.routeOptions.url === undefined) return;
    const streamToken = req.routeOptions.config.streamToken ? streamTokenOf(req) : undefined;
    req.principal = await keyFailures.guard(req, () =>
      streamToken !== undefined ? streamPrincipal(deps.streamTokens, deps.store.accounts, streamToken) : authenticate(req),
      streamToken !== undefined || Boolean(req.headers.authorization),
    );
  });

  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes(deps));
  await app.register(sessionRoutes({ ...deps, sessions }));
  await app.register(consoleRoutes(deps));
  await app.register(accountRoutes(deps));
  await app.register(destinationRoutes(deps));
  await app.register(streamRoutes(deps));
  await app.register(connectionRoutes(deps));
  await app.register(oauth2Routes(deps));
  await app.register(eventRoutes(deps));
  await app.register(deliveryRoutes(deps));
  await app.register(callRoutes(deps));
  await app.register(mappingRoutes(deps));
  await app.register(codecRoutes(deps));
  await app.register(metricsRoutes(deps));
});
