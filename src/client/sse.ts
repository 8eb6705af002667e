// A Server-Sent Events reader over fetch (Node has no EventSource before 22, and EventSource cannot
// send an Authorization header): the client's streamMessages reads a pull destination's live stream with it.

export interface SseEvent {
  id?: string;
  event: string;
  /** Absent on a frame that only moves the last event id (the stream's opening `id:` line). */
  data?: string;
}

/** The events of an SSE body, in order; comments (heartbeats) are skipped. Ends when the body does. */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event: Partial<SseEvent> & { data?: string } = {};
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r\n|\n|\r/)) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (event.data !== undefined || event.id !== undefined) yield { id: event.id, event: event.event ?? 'message', data: event.data };
        event = {};
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
      else if (field === 'id') event.id = value;
      else if (field === 'event') event.event = value;
    }
  }
}
