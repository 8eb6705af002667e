import { z } from 'zod';
import { MAX_STREAM_TOKEN_TTL_S } from '../stream-tokens.ts';
import { errorBody } from './errors.schema.ts';

// Pull destinations' streams (DESIGN.md "Pull destinations and live streams"): the message shape, the
// reads (a page with long-poll, the live stream), stream tokens and acks.

/** The longest a messages request waits for a first message: well inside proxies' idle limits. */
export const MAX_WAIT_S = 25;

const cursor = z.string().max(40).describe('A cursor from an earlier message or next_cursor; opaque. "0": the start of the stream.');
const token = z.string().max(2000).optional().describe('A stream token (POST /v1/destinations/:id/stream-tokens), for clients that cannot send an Authorization header (EventSource).');

export const message = z.object({
  cursor: z.string(),
  delivery_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  call_id: z.string().optional(),
  headers: z.object({ 'webhook-id': z.string(), 'webhook-timestamp': z.string(), 'webhook-signature': z.string() }),
  body: z.string().describe('The body exactly as signed: verify it with the destination signing secret (Standard Webhooks).'),
});

export const messagesQuery = z.strictObject({
  after: cursor.optional().describe('Messages after this cursor; absent: from the oldest message kept.'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  wait_s: z.coerce.number().min(0).max(MAX_WAIT_S).default(0).describe('With no message after the cursor, wait up to this many seconds for one (long-poll).'),
  token,
});

export const messagesPage = z.object({
  items: z.array(message),
  next_cursor: z.string().describe('Pass as `after` for the next page; the last cursor read, or `after` when there was none.'),
});

export const streamQuery = z.strictObject({
  after: cursor.optional().describe('Resume after this cursor (or send Last-Event-ID); neither: from now on.'),
  token,
});

export const cursorExpired = errorBody
  .extend({
    code: z.literal('cursor_expired'),
    oldest_cursor: z.string().describe('The oldest cursor you can resume after: every message after it is still kept.'),
  })
  .meta({ id: 'CursorExpiredError' });

export const streamTokenBody = z
  .strictObject({ ttl_s: z.number().int().min(1).max(MAX_STREAM_TOKEN_TTL_S).default(600).describe('Seconds the token is valid (at most 24 h).') })
  .default({ ttl_s: 600 });

export const streamToken = z.object({ token: z.string(), expires_at: z.string().describe('The moment from which the token is refused (RFC 3339): its issue time plus ttl_s') });

export const ackParams = z.object({ id: z.string().min(1), cursor });

export const ackBody = z.strictObject({
  status: z.number().int().min(0).max(599).describe("The consumer's HTTP status for the message; 0: it got no answer."),
  duration_ms: z.number().min(0).max(3_600_000),
  consumer: z.string().trim().min(1).max(200).optional().describe('Who handled it (a host name, `voiceoi listen`).'),
});

export const ackView = z.object({
  cursor: z.string(),
  status: z.number().int().describe("The consumer's HTTP status; 0: it got no answer"),
  duration_ms: z.number().describe('ms, as the consumer reported it'),
  consumer: z.string().nullable(),
  acked_at: z.string().describe('When the API recorded the ack (RFC 3339, its clock)'),
});

/** How the live stream's frames look (src/streams/sse.ts), for the OpenAPI document. */
export const SSE_FRAMES = [
  'A Server-Sent Events stream. Frames:',
  '- first `retry: 2000` and `id: <cursor>` (where the stream starts, so a reconnect resumes there);',
  '- one per message: `id: <cursor>`, `event: <event type>`, `data: <the message as JSON>` (the shape of one item of GET /v1/destinations/:id/messages);',
  '- `: heartbeat` comments while idle;',
  '- `event: destination_deleted` with `data: {}`, then the stream ends.',
].join('\n');
