import { useMutation } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { call, client, enc } from '../api.ts';
import { useEventTypes } from '../queries.ts';
import { Link } from '../router.tsx';
import type { Destination, StreamMessage } from '../api.ts';
import { CopyButton, ErrorBox, time } from '../ui.tsx';

/** Messages the live tail keeps on screen, newest first. */
const TAIL = 50;

/** The snippet a wallboard page runs: EventSource cannot send headers, so the token is in the URL. */
const eventSourceSnippet = (origin: string, d: Destination, token: string) => {
  const types = d.event_types.includes('*') ? ['call_completed'] : d.event_types;
  return [
    `// Expires at the token's expires_at: have your server ask for a fresh token (POST /v1/destinations/${d.id}/stream-tokens) for each page load.`,
    `const es = new EventSource('${origin}/v1/destinations/${d.id}/stream?token=${token}');`,
    ...types.map((t) => `es.addEventListener('${t}', (e) => {\n  const message = JSON.parse(e.data); // {cursor, delivery_id, event_id, event_type, call_id, headers, body}\n  console.log(message.event_type, JSON.parse(message.body));\n});`),
  ].join('\n');
};

/** A pull destination's consumers: a browser snippet with a fresh stream token, the `voiceoi listen` command, and a live tail. */
export function DestinationStream({ d }: { d: Destination }) {
  const origin = window.location.origin;
  const token = useMutation({ mutationFn: () => call(client.POST('/v1/destinations/{id}/stream-tokens', { params: { path: { id: d.id } }, body: { ttl_s: 3600 } })) });
  const listen = `VOICEOI_API_URL=${origin} VOICEOI_API_KEY=<your API key> npx voiceoi listen ${d.id} --forward-to http://localhost:4000/hook`;
  return (
    <section className="card" aria-label="Stream">
      <h2>Read this destination</h2>
      <p className="muted small">
        A pull destination keeps each delivery as a message. Read them live (Server-Sent Events), page through them (<code>GET /v1/destinations/{d.id}/messages</code>), or
        forward them to a local receiver.
      </p>
      <h3>In a browser</h3>
      {d.stream_origins.length === 0 ? (
        <p className="muted small">List the page&apos;s origin under Stream origins first: the browser refuses the stream to any other origin.</p>
      ) : (
        <p className="muted small">Pages on {d.stream_origins.join(', ')} may open it.</p>
      )}
      <button type="button" onClick={() => token.mutate()} disabled={token.isPending}>
        Get EventSource snippet
      </button>
      <ErrorBox error={token.error} />
      {token.data && (
        <div>
          <p className="small" role="status">
            Token valid until {time(token.data.expires_at)}.
          </p>
          <pre className="snippet" aria-label="EventSource snippet">
            {eventSourceSnippet(origin, d, token.data.token)}
          </pre>
          <CopyButton text={eventSourceSnippet(origin, d, token.data.token)} label="Copy snippet" />
        </div>
      )}
      <h3>On your machine</h3>
      <pre className="snippet" aria-label="voiceoi listen command">
        {listen}
      </pre>
      <CopyButton text={listen} label="Copy command" />
      <LiveTail d={d} />
    </section>
  );
}

/** The stream from now on, through the console's own session (same origin, so the cookie authenticates it). */
function LiveTail({ d }: { d: Destination }) {
  const [items, setItems] = useState<(StreamMessage & { at: string })[]>([]);
  const [state, setState] = useState<'connecting' | 'live' | 'reconnecting'>('connecting');
  const catalog = useEventTypes();
  // SSE events are named by event type: `*` listens for every call event of the catalog.
  const types = (d.event_types.includes('*') ? (catalog.data?.map((t) => t.type).filter((t) => !t.startsWith('hook.')) ?? []) : d.event_types).join(',');
  useEffect(() => {
    const es = new EventSource(`/v1/destinations/${enc(d.id)}/stream`);
    const onMessage = (e: MessageEvent<string>) => {
      const m = JSON.parse(e.data) as StreamMessage;
      setItems((list) => [{ ...m, at: new Date().toISOString() }, ...list].slice(0, TAIL));
    };
    es.addEventListener('open', () => setState('live'));
    es.addEventListener('error', () => setState('reconnecting'));
    for (const t of types.split(',').filter(Boolean)) es.addEventListener(t, onMessage);
    return () => es.close();
  }, [d.id, types]);
  return (
    <div aria-label="Live tail">
      <h3>
        Live tail <span className={`badge ${state === 'live' ? 'ok' : 'warn'}`}>{state}</span>
      </h3>
      {items.length === 0 ? (
        <p className="muted small">Waiting for the next message…</p>
      ) : (
        <table className="grid small">
          <thead>
            <tr>
              <th>Cursor</th>
              <th>Received</th>
              <th>Event</th>
              <th>Delivery</th>
            </tr>
          </thead>
          <tbody>
            {items.map((m) => (
              <tr key={m.cursor}>
                <td>
                  <code>{m.cursor}</code>
                </td>
                <td>{time(m.at)}</td>
                <td>{m.event_type}</td>
                <td>
                  <Link to={`/deliveries/${enc(m.delivery_id)}/`}>{m.event_id}</Link>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
