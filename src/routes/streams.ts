import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireAccount } from '../auth.ts';
import type { Config } from '../config.ts';
import { AppError, notFound } from '../errors.ts';
import { newId } from '../ids.ts';
import type { Destination } from '../store/destinations.ts';
import type { Store } from '../store/index.ts';
import { parseCursor } from '../store/messages.ts';
import type { StreamTokens } from '../stream-tokens.ts';
import { pumpStream, type LiveStream } from '../streams/sse.ts';
import { wakeSignal } from '../streams/wake-signal.ts';
import { z } from 'zod';
import { idParams, noBody } from './common.schema.ts';
import { withAuthErrors } from './errors.schema.ts';
import {
  ackBody,
  ackParams,
  cursorExpired,
  messagesPage,
  messagesQuery,
  SSE_FRAMES,
  streamQuery,
  streamToken,
  streamTokenBody,
} from './streams.schema.ts';

export interface StreamRouteDeps {
  config: Pick<Config, 'VOICEOI_STREAMS_PER_ACCOUNT' | 'VOICEOI_STREAM_HEARTBEAT_S'>;
  store: Pick<Store, 'destinations' | 'messages' | 'wakeups'>;
  streamTokens: StreamTokens;
}

/**
 * A pull destination's consumer reads here (DESIGN.md "Pull destinations and live streams"): a page
 * of messages (long-poll), the live stream (SSE), stream tokens for browsers, acks. The account key
 * reads any of its pull destinations; a stream token (`?token=`, src/stream-tokens.ts) reads the one
 * it was issued for, and only here.
 */
export const streamRoutes = (deps: StreamRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const { store } = deps;
  const tags = ['streams'];
  const heartbeatMs = deps.config.VOICEOI_STREAM_HEARTBEAT_S * 1000;
  // A stream's place is held this long past its last heartbeat: a replica killed -9 frees its places by then.
  const leaseMs = Math.max(3 * heartbeatMs, 10_000);
  const open = new Set<LiveStream>();

  // Open streams end when the server closes (their clients reconnect elsewhere with Last-Event-ID).
  app.addHook('preClose', async () => {
    const streams = [...open];
    for (const s of streams) s.end();
    await Promise.all(streams.map((s) => s.done));
  });

  /** The pull destination the caller may read: the account's own, or the one its stream token names. */
  const readable = async (req: FastifyRequest, id: string): Promise<Destination> => {
    const principal = req.principal;
    if (principal?.kind === 'stream' && principal.destinationId !== id)
      throw new AppError(403, 'stream_token_scope', 'This stream token reads another destination only');
    const accountId = principal?.kind === 'stream' ? principal.account.id : requireAccount(req).id;
    const destination = await store.destinations.get(accountId, id);
    if (!destination) throw notFound('destination', id);
    if (destination.mode !== 'pull')
      throw new AppError(409, 'destination_not_pull', `Destination '${id}' is a push destination: its deliveries are sent to its url, not kept as messages`);
    return destination;
  };

  // A page on a listed origin may read the answer; any other origin gets no CORS header, so its browser refuses it.
  const allowOrigin = (req: FastifyRequest, reply: FastifyReply, destination: Destination) => {
    reply.header('vary', 'Origin');
    const origin = req.headers.origin;
    if (origin && destination.stream_origins.includes(origin)) reply.header('access-control-allow-origin', origin);
  };

  /** The cursor to read after; 410 when retention already removed messages after it. */
  const startCursor = async (destinationId: string, given: string | undefined, fromNow: boolean): Promise<string> => {
    const position = await store.messages.position(destinationId);
    if (given === undefined) return fromNow ? position.last : '0';
    const seq = parseCursor(given);
    if (seq === undefined || seq > Number(position.last))
      throw new AppError(400, 'invalid_cursor', `cursor '${given.slice(0, 40)}' is not a cursor of this destination's stream`);
    if (seq < Number(position.prunedThrough))
      throw new AppError(410, 'cursor_expired', `The messages after cursor '${given}' are past the retention and were removed; resume after ${position.prunedThrough}`, {
        oldest_cursor: position.prunedThrough,
      });
    return given;
  };

  app.options('/v1/destinations/:id/:read', { config: { public: true }, schema: { hide: true, params: idParams.extend({ read: idParams.shape.id }) } }, async (req, reply) => {
    // The preflight carries no credentials: it only says whether this origin may ask.
    const destination = ['stream', 'messages'].includes(req.params.read) ? await store.destinations.getById(req.params.id) : undefined;
    if (destination?.mode === 'pull') {
      allowOrigin(req, reply, destination);
      reply.header('access-control-allow-headers', 'authorization, last-event-id');
      reply.header('access-control-allow-methods', 'GET');
      reply.header('access-control-max-age', '600');
    }
    return reply.status(204).send();
  });

  app.get('/v1/destinations/:id/messages', {
    config: { streamToken: true },
    schema: {
      tags,
      operationId: 'listDestinationMessages',
      description: 'A page of the pull destination\'s messages after a cursor; with wait_s, waits for the first one (long-poll). Also with a stream token in `?token=`.',
      params: idParams,
      querystring: messagesQuery,
      response: { 200: messagesPage, 410: cursorExpired, ...withAuthErrors(400, 404, 409) },
    },
  }, async (req, reply) => {
    const destination = await readable(req, req.params.id);
    allowOrigin(req, reply, destination);
    // Moves past messages of erased calls too, so a page of only those still advances the consumer.
    let cursor = await startCursor(destination.id, req.query.after, false);
    const read = async () => {
      const page = await store.messages.page(destination.id, cursor, req.query.limit);
      cursor = page.next;
      return page.items;
    };
    let items = await read();
    if (items.length === 0 && req.query.wait_s > 0) {
      // Long-poll: subscribed before the second read, so a message appended in between still wakes it.
      const deadline = Date.now() + req.query.wait_s * 1000;
      let deleted = false;
      const wakes = wakeSignal();
      const unsubscribe = store.wakeups.subscribe(destination.id, (change) => {
        deleted ||= change === 'deleted';
        wakes.poke();
      });
      req.raw.once('close', wakes.poke);
      try {
        await store.wakeups.ready();
        items = await read();
        while (items.length === 0 && !deleted && !req.raw.destroyed && Date.now() < deadline) {
          await wakes.next(deadline - Date.now());
          items = await read();
        }
      } finally {
        unsubscribe();
        req.raw.off('close', wakes.poke);
      }
      if (deleted) throw notFound('destination', destination.id);
    }
    return { items, next_cursor: cursor };
  });

  app.get('/v1/destinations/:id/stream', {
    config: { streamToken: true },
    schema: {
      tags,
      operationId: 'streamDestination',
      description: 'The live stream of a pull destination (Server-Sent Events; EventSource can pass a stream token in `?token=`). Resume with Last-Event-ID or `after`.',
      params: idParams,
      querystring: streamQuery,
      response: { 200: { description: SSE_FRAMES, content: { 'text/event-stream': { schema: z.string() } } }, 410: cursorExpired, ...withAuthErrors(400, 404, 409) },
    },
  }, async (req, reply) => {
    const destination = await readable(req, req.params.id);
    const lastEventId = req.headers['last-event-id'];
    const given = typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : req.query.after;
    const cursor = await startCursor(destination.id, given, true);
    const leaseId = newId('sls');
    const now = Date.now();
    if (!(await store.messages.lease(destination.account_id, leaseId, deps.config.VOICEOI_STREAMS_PER_ACCOUNT, now, now + leaseMs)))
      throw new AppError(429, 'too_many_streams', `This account already has ${deps.config.VOICEOI_STREAMS_PER_ACCOUNT} live streams open; close one or read with GET /v1/destinations/:id/messages`, {
        retry_after_s: Math.ceil(leaseMs / 1000),
      });
    allowOrigin(req, reply, destination);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    // `retry`: how soon EventSource reconnects after a drop. `id` with no data sets where it resumes
    // from even before the first message, so a stream opened "from now" loses nothing across a drop.
    raw.write(`retry: 2000\nid: ${cursor}\n\n`);
    const stream = pumpStream(raw, destination.id, cursor, {
      messages: store.messages,
      wakeups: store.wakeups,
      heartbeatMs,
      stillThere: async () => Boolean(await store.destinations.get(destination.account_id, destination.id)),
      renew: () => store.messages.renewLease(leaseId, Date.now() + leaseMs),
    });
    open.add(stream);
    req.log.info({ destination_id: destination.id }, 'live stream opened');
    await stream.done;
    open.delete(stream);
    await store.messages.releaseLease(leaseId).catch(() => undefined);
  });

  app.post('/v1/destinations/:id/stream-tokens', {
    schema: { tags, operationId: 'createStreamToken', params: idParams, body: streamTokenBody, response: { 201: streamToken, ...withAuthErrors(400, 404, 409) } },
  }, async (req, reply) => {
    const account = requireAccount(req);
    const destination = await readable(req, req.params.id);
    return reply.status(201).send(deps.streamTokens.issue(account.id, destination.id, req.body.ttl_s));
  });

  app.post('/v1/destinations/:id/messages/:cursor/ack', {
    schema: { tags, operationId: 'ackDestinationMessage', params: ackParams, body: ackBody, response: { 204: noBody('Recorded'), ...withAuthErrors(400, 404, 409) } },
  }, async (req, reply) => {
    requireAccount(req);
    const destination = await readable(req, req.params.id);
    const recorded = await store.messages.ack(destination.id, req.params.cursor, { ...req.body, consumer: req.body.consumer ?? null });
    if (recorded === 'not_found') throw new AppError(404, 'message_not_found', `No message with cursor '${req.params.cursor.slice(0, 40)}' in this destination's stream (or it is past the retention)`);
    if (recorded === 'too_many') throw new AppError(409, 'too_many_acks', 'This message has all the acks it can keep');
    return reply.status(204).send();
  });
};

