import type { ServerResponse } from 'node:http';
import type { MessageStore, StreamMessage } from '../store/messages.ts';
import type { MessageWakeups } from '../store/message-wakeups.ts';
import { wakeSignal } from './wake-signal.ts';

/** Messages read from the store per query; the next are read only once the socket took these. */
const BATCH = 100;

export interface LiveStream {
  /** Resolves when the stream ended (client gone, destination deleted, server closing). */
  done: Promise<void>;
  /** Ends it from the server side (shutdown): the client reconnects with Last-Event-ID. */
  end(): void;
}

export interface LiveStreamDeps {
  messages: Pick<MessageStore, 'page'>;
  wakeups: Pick<MessageWakeups, 'subscribe' | 'ready'>;
  heartbeatMs: number;
  /** At each heartbeat: false when the destination is gone (its streams end). */
  stillThere: () => Promise<boolean>;
  /** At each heartbeat, to keep the account's stream place (src/store/messages.ts lease). */
  renew: () => Promise<void>;
}

/** One SSE event per message: `id` is the cursor (EventSource resumes with it as Last-Event-ID). */
export const sseFrame = (m: StreamMessage): string => `id: ${m.cursor}\nevent: ${m.event_type}\ndata: ${JSON.stringify(m)}\n\n`;

/**
 * Serves a pull destination's messages after `cursor` on an open SSE response, in cursor order, then
 * waits for more. It reads from the store only while the socket keeps up: a `write` that answers
 * false stops reading until 'drain', so a slow consumer holds at most one batch in this process.
 */
export function pumpStream(raw: ServerResponse, destinationId: string, cursor: string, deps: LiveStreamDeps): LiveStream {
  let closed = false;
  let deleted = false;
  const wakes = wakeSignal();
  const unsubscribe = deps.wakeups.subscribe(destinationId, (change) => {
    if (change === 'deleted') deleted = true;
    wakes.poke();
  });
  const close = () => {
    closed = true;
    wakes.poke();
  };
  raw.on('close', close);
  const drained = () =>
    new Promise<void>((resolve) => {
      if (closed) return resolve();
      const done = () => {
        raw.off('drain', done);
        raw.off('close', done);
        resolve();
      };
      raw.on('drain', done);
      raw.on('close', done);
    });

  const run = async () => {
    await deps.wakeups.ready();
    while (!closed) {
      const batch = await deps.messages.page(destinationId, cursor, BATCH);
      for (const m of batch.items) {
        if (closed) return;
        cursor = m.cursor;
        if (!raw.write(sseFrame(m))) await drained();
      }
      // Past the messages of erased calls too (never sent): the stream does not read them again.
      cursor = batch.next;
      if (batch.scanned === BATCH) continue;
      if (deleted) {
        raw.write('event: destination_deleted\ndata: {}\n\n');
        return;
      }
      if (await wakes.next(deps.heartbeatMs)) continue;
      if (closed) return;
      if (!(await deps.stillThere())) {
        deleted = true;
        continue;
      }
      raw.write(': heartbeat\n\n');
      await deps.renew();
    }
  };
  const done = run()
    .catch(() => {
      // A database that stopped answering: the client reconnects (with Last-Event-ID) to a healthy replica.
    })
    .finally(() => {
      unsubscribe();
      raw.off('close', close);
      if (!raw.writableEnded) raw.end();
    });
  return { done, end: close };
}
