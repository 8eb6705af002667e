import { Agent, fetch as undiciFetch } from 'undici';
import { sseEvents, type SseEvent } from '../../src/client/sse.ts';
import type { Caller } from './resources.ts';

/** A pull destination (POST /v1/destinations {mode: "pull"}), subscribed to call_completed unless `body` says otherwise. */
export async function createPullDestination(api: Caller, token: string, body: Record<string, unknown> = {}): Promise<{ id: string; signing_secret: string; [field: string]: any }> {
  const r = await api.call('POST', '/v1/destinations', { token, body: { mode: 'pull', event_types: ['call_completed'], ...body } });
  if (r.status !== 201) throw new Error(`pull destination creation failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** One live stream as a client reads it over real HTTP: its events in order, and a way to drop it. */
export interface OpenStream {
  status: number;
  headers: Headers;
  /** The next `n` events (heartbeats skipped), or fails after `timeoutMs`. */
  take(n: number, timeoutMs?: number): Promise<SseEvent[]>;
  /** Whether the server ended the stream (the body finished) within `timeoutMs`. */
  ended(timeoutMs?: number): Promise<boolean>;
  close(): void;
}

export async function openStream(base: string, path: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  const abort = new AbortController();
  // Its own connection, destroyed with the stream: an aborted body otherwise leaves the shared pool
  // opening a fresh idle connection, which holds the API's close for its keep-alive time.
  const agent = new Agent({ pipelining: 0 });
  const res = await undiciFetch(base + path, { headers, signal: abort.signal, dispatcher: agent });
  const queue: SseEvent[] = [];
  let finished = false;
  let notify = () => {};
  if (res.ok && res.body) {
    void (async () => {
      try {
        for await (const e of sseEvents(res.body as ReadableStream<Uint8Array>)) {
          if (e.data === undefined) continue;
          queue.push(e);
          notify();
        }
      } catch {
        // aborted
      }
      finished = true;
      notify();
    })();
  }
  const until = async (ready: () => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!ready() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        notify = resolve;
        setTimeout(resolve, Math.min(100, deadline - Date.now()));
      });
    }
    return ready();
  };
  return {
    status: res.status,
    headers: res.headers,
    async take(n, timeoutMs = 20_000) {
      if (!(await until(() => queue.length >= n, timeoutMs))) throw new Error(`expected ${n} events, got ${queue.length}: ${JSON.stringify(queue)}`);
      return queue.splice(0, n);
    },
    ended: (timeoutMs = 10_000) => until(() => finished, timeoutMs),
    close: () => {
      abort.abort();
      void agent.destroy().catch(() => {});
    },
  };
}
