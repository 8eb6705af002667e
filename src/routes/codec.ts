import { createHash, timingSafeEqual } from 'node:crypto';
import type { PayloadCodec } from '@temporalio/common';
import type { FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createAuthenticator } from '../auth.ts';
import { safeEqual } from '../crypto/safe-equal.ts';
import type { Config } from '../config.ts';
import { KeyRingError } from '../crypto/keyring.ts';
import { AppError } from '../errors.ts';
import type { Store } from '../store/index.ts';
import { decodePayloadsJSON, encodePayloadsJSON, PayloadsJSONError } from '../temporal/codec.ts';
import { AccessTokenError } from '../temporal/ui-access-token.ts';

export interface CodecRouteDeps {
  codec: PayloadCodec;
  adminToken: string;
  store: Pick<Store, 'accounts'>;
  /** The secret path segment of the Temporal UI's codec URL (src/admin-token.ts, resolveCodecUiSecret). */
  codecUiSecret: string;
  /** Browser origins of Temporal UIs that may read the codec's answers (CORS only). */
  codecOrigins: readonly string[];
  /** Set when the operator's Temporal UI signs users in and passes their access tokens (src/temporal/ui-access-token.ts). */
  uiAccessTokens?: { verify(token: string): Promise<unknown> };
}

// Who may decode. The codec turns "can read Temporal history" into "can read every account's event
// data", so it is an operator tool, and every caller proves who it is before its body is read:
//
// - `/codec/decode`, `/codec/encode`: the admin token as a Bearer token (the temporal CLI's
//   `--codec-auth`, scripts), or, when configured, a signed-in Temporal UI user's access token (the
//   production way: the UI passes it, the codec checks its signature, issuer, audience and expiry).
//   Account API keys are refused.
// - `/codec/<secret>/decode`, `/codec/<secret>/encode`: the Temporal UI, which calls the codec from
//   the browser and can send neither our token nor a cookie. The per-install secret in the path is
//   its credential; only the UI's configuration holds it (`npm start` passes it to the dev UI through
//   a settings file only its user reads, never its command line). The UI hands its codec URL to every
//   browser that loads it: reaching that UI means reading history, so it stays on loopback.
//
// `Origin` is never a credential: any client can send one (issue 10: a header connection did). It
// only decides which browser origins may read the secret-URL routes' answers (CORS), answered here
// for these routes rather than app-wide.
const MAX_BODY = 8 * 1024 * 1024;

const digest = (s: string) => createHash('sha256').update(s).digest();

export const codecRoutes = (deps: CodecRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const allowed = new Set(deps.codecOrigins);
  const authenticate = createAuthenticator({ adminToken: deps.adminToken, accounts: deps.store.accounts });
  const secretDigest = digest(deps.codecUiSecret);
  const allowedOrigin = (req: FastifyRequest): string | undefined => {
    const origin = req.headers.origin;
    return origin && allowed.has(origin) ? origin : undefined;
  };

  async function adminOnly(req: FastifyRequest): Promise<void> {
    if (!req.headers.authorization) {
      throw new AppError(401, 'unauthorized', 'The codec needs "Authorization: Bearer <admin token>" (the Temporal UI uses its own codec URL, see docs/guides/debug-a-delivery.md)');
    }
    const token = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization)?.[1];
    if (deps.uiAccessTokens && token && !safeEqual(token, deps.adminToken) && token.split('.').length === 3) {
      try {
        await deps.uiAccessTokens.verify(token);
        return;
      } catch (err) {
        if (err instanceof AccessTokenError) throw new AppError(401, 'invalid_access_token', `The codec refused the Temporal UI's access token: ${err.message}`);
        throw new AppError(503, 'access_token_keys_unavailable', `The codec could not check the access token: ${(err as Error).message}`);
      }
    }
    const principal = await authenticate(req);
    if (principal.kind !== 'admin') throw new AppError(403, 'forbidden', 'The codec decodes every account’s payloads: it needs the admin token');
  }

  async function uiSecret(req: FastifyRequest): Promise<void> {
    const { secret } = req.params as { secret: string };
    // Compared as digests: constant time whatever the length sent.
    if (!timingSafeEqual(digest(secret), secretDigest)) {
      throw new AppError(401, 'unauthorized', 'This is not this install’s Temporal UI codec URL; the CLI and scripts use /codec with "Authorization: Bearer <admin token>"');
    }
  }

  const run = async (req: FastifyRequest, reply: FastifyReply, op: typeof decodePayloadsJSON) => {
    try {
      return reply.send(await op(deps.codec, req.body));
    } catch (err) {
      if (err instanceof PayloadsJSONError) throw new AppError(400, err.code, err.message);
      if (err instanceof KeyRingError) {
        throw new AppError(err.code === 'malformed' ? 400 : 422, err.code, err.message, err.keyId ? { key_id: err.keyId } : undefined);
      }
      throw err;
    }
  };

  const base = {
    config: { public: true },
    schema: { hide: true },
    bodyLimit: MAX_BODY,
  } satisfies RouteShorthandOptions;

  // onRequest: before the body is read, so an unauthenticated caller never costs an 8 MiB parse.
  const admin = { ...base, onRequest: adminOnly } satisfies RouteShorthandOptions;

  const cors = async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = allowedOrigin(req);
    reply.header('vary', 'Origin');
    if (!origin) return;
    reply.header('access-control-allow-origin', origin);
    // The UI's "include cross-origin credentials" switch makes the browser demand this header.
    reply.header('access-control-allow-credentials', 'true');
  };
  const preflight = async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = allowedOrigin(req);
    if (!origin) {
      throw new AppError(403, 'origin_not_allowed', `Origin '${req.headers.origin ?? ''}' is not an allowed Temporal UI origin; add it to VOICEOI_CODEC_ORIGINS`);
    }
    reply.header('access-control-allow-methods', 'POST');
    reply.header('access-control-allow-headers', req.headers['access-control-request-headers'] ?? 'content-type, x-namespace, authorization');
    if (req.headers['access-control-request-private-network'] === 'true') reply.header('access-control-allow-private-network', 'true');
    reply.header('access-control-max-age', '600');
    return reply.status(204).send();
  };

  if (deps.uiAccessTokens) {
    // A signed-in UI calls these from the browser with the user's token: they answer its origins too.
    await app.register(async (signedIn) => {
      signedIn.addHook('onSend', cors);
      signedIn.post('/codec/decode', admin, (req, reply) => run(req, reply, decodePayloadsJSON));
      signedIn.post('/codec/encode', admin, (req, reply) => run(req, reply, encodePayloadsJSON));
      signedIn.options('/codec/decode', { config: base.config, schema: base.schema }, preflight);
      signedIn.options('/codec/encode', { config: base.config, schema: base.schema }, preflight);
    });
  } else {
    app.post('/codec/decode', admin, (req, reply) => run(req, reply, decodePayloadsJSON));
    app.post('/codec/encode', admin, (req, reply) => run(req, reply, encodePayloadsJSON));
  }

  await app.register(async (ui) => {
    ui.addHook('onSend', cors);
    const secretUrl = {
      ...base,
      onRequest: uiSecret,
      // The URL is the credential: the access log shows the route, never the secret.
      logSerializers: { req: (req: FastifyRequest) => ({ method: req.method, url: req.url.split('?')[0]!.replace(/^\/codec\/[^/]*/, '/codec/[redacted]') }) },
    } satisfies RouteShorthandOptions;
    ui.post('/codec/:secret/decode', secretUrl, (req, reply) => run(req, reply, decodePayloadsJSON));
    ui.post('/codec/:secret/encode', secretUrl, (req, reply) => run(req, reply, encodePayloadsJSON));
    ui.options('/codec/:secret/:op', { ...secretUrl, bodyLimit: undefined }, preflight);
    // Any other path under a codec secret is answered here, so that the not-found log line, too,
    // never holds the secret.
    const notFound = async (req: FastifyRequest) => {
      throw new AppError(404, 'route_not_found', `No route ${req.method} /codec/[redacted]/${(req.params as { '*'?: string })['*'] ?? ''}`);
    };
    const anyOther = { config: base.config, schema: base.schema, logSerializers: secretUrl.logSerializers };
    ui.all('/codec/:secret', anyOther, notFound);
    ui.all('/codec/:secret/*', anyOther, notFound);
  });
};

/** The browser origins allowed by CORS: the configured ones, plus the dev UI's when this process starts it. */
export function codecOriginsFor(config: Config): string[] {
  const origins = [...config.VOICEOI_CODEC_ORIGINS];
  if (!config.TEMPORAL_ADDRESS && config.VOICEOI_ROLE === 'all') {
    origins.push(`http://127.0.0.1:${config.TEMPORAL_UI_PORT}`, `http://localhost:${config.TEMPORAL_UI_PORT}`);
  }
  return origins;
}
