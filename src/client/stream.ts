import type { VoiceoiClient } from './client.ts';
import { unwrap } from './errors.ts';
import type { PageItem } from './paginate.ts';
import { sseEvents } from './sse.ts';

// A pull destination's live stream (GET /v1/destinations/:id/stream), typed. Each message is one SSE
// event (`id: <cursor>`, `data: <message JSON>`); the stream opens with a bare `id:` frame (where it
// resumes from even before a message) and ends with `destination_deleted` when the destination goes.

/** A message of a pull destination: the signed headers and the body exactly as signed. */
export type StreamMessage = PageItem<'/v1/destinations/{id}/messages'>;

export type StreamEvent =
  /** A message; resume after `cursor` to read on from it. */
  | { type: 'message'; cursor: string; message: StreamMessage }
  /** Only the resume point moved (the stream's opening frame). */
  | { type: 'cursor'; cursor: string }
  /** The destination was deleted: the stream ends and will not come back. */
  | { type: 'destination_deleted' };

export interface StreamOptions {
  /** Resume after this cursor; absent: from now on. */
  after?: string;
  signal?: AbortSignal;
}

/**
 * The events of the live stream until the server ends it or `signal` aborts; a refusal (unknown
 * destination, `cursor_expired`, too many streams) throws VoiceoiApiError before the first event.
 * The caller reconnects with `after` set to the last cursor it handled.
 */
export async function* streamMessages(client: VoiceoiClient, destinationId: string, o: StreamOptions = {}): AsyncGenerator<StreamEvent, void, undefined> {
  const body = await unwrap(
    client.GET('/v1/destinations/{id}/stream', {
      params: { path: { id: destinationId }, query: o.after !== undefined ? { after: o.after } : {} },
      headers: { accept: 'text/event-stream' },
      parseAs: 'stream',
      signal: o.signal,
    }),
  );
  if (!body) throw new Error('the API answered the stream without a body');
  for await (const e of sseEvents(body)) {
    if (e.event === 'destination_deleted') {
      yield { type: 'destination_deleted' };
      return;
    }
    if (e.data !== undefined && e.id) yield { type: 'message', cursor: e.id, message: JSON.parse(e.data) as StreamMessage };
    else if (e.id) yield { type: 'cursor', cursor: e.id };
  }
}
