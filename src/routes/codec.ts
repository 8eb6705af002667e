import type { PayloadCodec } from '@temporalio/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createAuthenticator } from '../auth.ts';
import type { Config } from '../config.ts';
import { KeyRingError } from '../crypto/keyring.ts';
import { AppError } from '../errors.ts';
import type { Store } from '../store/index.ts';
import { decodePayloadsJSON, encodePayloadsJSON, PayloadsJSONError } from '../temporal/codec.ts';

export interface CodecRouteDeps {
  codec: PayloadCodec;
  adminToken: string;
  store: Store;
  /** Browser origins of Temporal UIs allowed to call the codec without a token (exact match). */
  codecOrigins: readonly string[];
}

// Who may decode. The codec turns "can read Temporal history" into "can read every account's event
// data", so it is an operator tool: the admin token, never an account API key.
//
// The Temporal UI calls the codec from the browser. Its only ways to send credentials are its own
// OIDC access token ("pass access token"), which this API cannot verify, or cookies, which this API
// does not issue. So instead of a pass-through, a browser request is accepted when its Origin is an
// allow-listed UI origin: `npm start` allows its own dev UI (loopback, no auth of its own: whoever
// reaches it sees history anyway); against a real cluster, list the UI's origin in
// VOICEOI_CODEC_ORIGINS only when that UI sits behind the operators' SSO. Origin is set by the
// browser, not by curl, so the allow-list is only as strong as the network boundary around the API;
// scripts and the temporal CLI use `--codec-auth 'Bearer <admin token>'` instead.
//
// CORS is answered here, for these two routes only, rather than app-wide.
const MAX_BODY = 8 * 1024 * 1024;

export const codecRoutes = (deps: CodecRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const allowed = new Set(deps.codecOrigins);
  const authenticate = createAuthenticator({ adminToken: deps.adminToken, accounts: deps.store.accounts });
  const allowedOrigin = (req: FastifyRequest): string | undefined => {
    const origin = req.headers.origin;
    return origin && allowed.has(origin) ? origin : undefined;
  };

  app.addHook('onSend', async (req, reply) => {
    const origin = allowedOrigin(req);
    reply.header('vary', 'Origin');
    if (!origin) return;
    reply.header('access-control-allow-origin', origin);
    // The UI's "include cross-origin credentials" switch makes the browser demand this header.
    reply.header('access-control-allow-credentials', 'true');
  });

  async function authorize(req: FastifyRequest): Promise<void> {
    if (allowedOrigin(req)) return;
    if (!req.headers.authorization) {
      throw new AppError(401, 'unauthorized', 'The codec needs "Authorization: Bearer <admin token>", or a request from an allow-listed Temporal UI origin (VOICEOI_CODEC_ORIGINS)');
    }
    const principal = await authenticate(req);
    if (principal.kind !== 'admin') throw new AppError(403, 'forbidden', 'The codec decodes every account’s payloads: it needs the admin token');
  }

  const run = async (req: FastifyRequest, reply: FastifyReply, op: typeof decodePayloadsJSON) => {
    await authorize(req);
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

  const config = { public: true };
  const schema = { hide: true };
  app.post('/codec/decode', { config, schema, bodyLimit: MAX_BODY }, (req, reply) => run(req, reply, decodePayloadsJSON));
  app.post('/codec/encode', { config, schema, bodyLimit: MAX_BODY }, (req, reply) => run(req, reply, encodePayloadsJSON));

  app.options('/codec/:op', { config, schema }, async (req, reply) => {
    const origin = allowedOrigin(req);
    if (!origin) {
      throw new AppError(403, 'origin_not_allowed', `Origin '${req.headers.origin ?? ''}' is not an allowed Temporal UI origin; add it to VOICEOI_CODEC_ORIGINS`);
    }
    reply.header('access-control-allow-methods', 'POST');
    reply.header('access-control-allow-headers', req.headers['access-control-request-headers'] ?? 'content-type, x-namespace, authorization');
    if (req.headers['access-control-request-private-network'] === 'true') reply.header('access-control-allow-private-network', 'true');
    reply.header('access-control-max-age', '600');
    return reply.status(204).send();
  });
};

/** The configured UI origins, plus the dev UI's own when this process starts the dev server. */
export function codecOriginsFor(config: Config): string[] {
  const origins = [...config.VOICEOI_CODEC_ORIGINS];
  if (!config.TEMPORAL_ADDRESS && config.VOICEOI_ROLE === 'all') {
    origins.push(`http://127.0.0.1:${config.TEMPORAL_UI_PORT}`, `http://localhost:${config.TEMPORAL_UI_PORT}`);
  }
  return origins;
}
