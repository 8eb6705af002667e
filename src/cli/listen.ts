import { createClient, streamMessages, VoiceoiApiError, type StreamMessage } from '../client/index.ts';

// `voiceoi listen`: reads a pull destination's live stream and forwards each message to a local URL
// as the HTTP request a push destination would have sent (the signed Standard Webhooks headers and the
// exact body), prints one line per message, reports the local answer back (ack), and after a drop
// reconnects from the last message it handled, so nothing is lost or forwarded twice. Every API call
// it makes goes through the typed client (src/client/).

export interface ListenOptions {
  apiUrl: string;
  apiKey: string;
  destinationId: string;
  forwardTo: string;
  /** Resume after this cursor; absent: from now on. */
  after?: string;
  /** Named in each ack. */
  consumer: string;
  out: (line: string) => void;
  err: (line: string) => void;
  signal?: AbortSignal;
}

const MAX_BACKOFF_MS = 10_000;
/** Answers that no reconnect can fix: the command stops and says why. */
const FATAL = new Set([400, 401, 403, 404, 409, 410]);

class Fatal extends Error {}

const time = () => new Date().toISOString().slice(11, 23);

/** Runs until `signal` aborts (resolves) or the API refuses the stream for good (rejects with its answer). */
export async function listen(o: ListenOptions): Promise<void> {
  const api = o.apiUrl.replace(/\/$/, '');
  const client = createClient({ baseUrl: api, apiKey: o.apiKey });
  let cursor = o.after;
  let backoffMs = 500;
  let disconnectedAt: number | undefined;

  const forward = async (m: StreamMessage) => {
    const t0 = performance.now();
    let status = 0;
    let problem = '';
    try {
      const res = await fetch(o.forwardTo, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'voiceoi-listen', ...m.headers },
        body: m.body,
        signal: o.signal,
      });
      status = res.status;
      await res.arrayBuffer();
    } catch (err) {
      problem = ` (${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message})`;
    }
    const ms = Math.round(performance.now() - t0);
    o.out(`${time()}  ${m.event_type.padEnd(22)} ${m.delivery_id}  ${status === 0 ? 'no answer' : status}  ${ms} ms${problem}`);
    try {
      const { error, response } = await client.POST('/v1/destinations/{id}/messages/{cursor}/ack', {
        params: { path: { id: o.destinationId, cursor: m.cursor } },
        body: { status, duration_ms: ms, consumer: o.consumer },
        signal: o.signal,
      });
      if (response.status !== 204) o.err(`warning: the ack of ${m.cursor} was answered ${response.status}: ${JSON.stringify(error)}`);
    } catch (err) {
      if (!o.signal?.aborted) o.err(`warning: the ack of ${m.cursor} failed: ${(err as Error).message}`);
    }
  };

  while (!o.signal?.aborted) {
    let reason: string;
    try {
      let ready = false;
      for await (const e of streamMessages(client, o.destinationId, { after: cursor, signal: o.signal })) {
        if (!ready) {
          ready = true;
          if (disconnectedAt !== undefined) o.err(`*** RECONNECTED after ${((Date.now() - disconnectedAt) / 1000).toFixed(1)} s; resuming after cursor ${cursor ?? '(now)'}`);
          else o.err(`Ready: forwarding the events of ${o.destinationId} to ${o.forwardTo} (Ctrl-C to stop)`);
          disconnectedAt = undefined;
          backoffMs = 500;
        }
        if (e.type === 'destination_deleted') throw new Fatal(`destination ${o.destinationId} was deleted`);
        if (e.type === 'message') await forward(e.message);
        // The cursor moves only once the message was handled, so a drop mid-message forwards it again, never skips it.
        cursor = e.cursor;
      }
      reason = 'the API closed the stream';
    } catch (err) {
      if (err instanceof Fatal) throw err;
      if (err instanceof VoiceoiApiError && FATAL.has(err.status)) {
        const hint = err.code === 'cursor_expired' ? ` Resume with --after ${String(err.body.oldest_cursor)} (the messages between were removed by retention).` : '';
        throw new Fatal(`the API refused the stream: ${err.status} ${err.code}: ${err.message}${hint}`);
      }
      if (o.signal?.aborted) return;
      reason = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    }
    disconnectedAt ??= Date.now();
    o.err(`*** DISCONNECTED from ${api} (${reason}). Nothing is lost: reconnecting in ${(backoffMs / 1000).toFixed(1)} s from cursor ${cursor ?? '(now)'}`);
    await new Promise((resolve) => setTimeout(resolve, backoffMs));
    backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
  }
}

export { Fatal as ListenRefused };
