import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { call, client, enc, type Attempt, type Delivery, type ErasedDelivery, type FullDelivery } from '../api.ts';
import { useSession } from '../session.tsx';
import { Link } from '../router.tsx';
import { ErrorBox, Json, Loading, StatusBadge, time } from '../ui.tsx';

const FINAL = new Set(['delivered', 'failed', 'skipped', 'cancelled']);

/** Operators open the workflow (the audit log) in the Temporal UI; by default the dev UI on this host. */
function temporalLink(uiBase: string | undefined, d: FullDelivery): string {
  const base = (uiBase ?? `${window.location.protocol}//${window.location.hostname}:8233`).replace(/\/+$/, '');
  return `${base}/namespaces/default/workflows/${enc(d.workflow.id)}/${enc(d.workflow.run_id)}/history`;
}

const prettyBody = (body: string) => {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
};

function Headers({ headers, label }: { headers: Record<string, string>; label: string }) {
  return (
    <table className="kv" aria-label={label}>
      <tbody>
        {Object.entries(headers).map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td className={v === '[redacted]' ? 'muted' : undefined}>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function AttemptView({ a }: { a: Attempt }) {
  return (
    <li className="attempt card" aria-label={`Attempt ${a.n}`}>
      <div className="attempt-head">
        <strong>Attempt {a.n}</strong>
        <StatusBadge status={a.verdict} />
        {a.response && <span className={`http http-${String(a.response.status)[0]}`}>HTTP {a.response.status}</span>}
        <span className="muted">{time(a.started_at)}</span>
        <span className="muted">{a.duration_ms} ms</span>
        {a.retry_after_ms !== undefined && <span className="muted">Retry-After {Math.round(a.retry_after_ms / 1000)} s</span>}
      </div>
      {a.error && (
        <div className="error">
          <code className="code">{a.error.code}</code> {a.error.message}
        </div>
      )}
      <div className="two">
        {a.request && (
          <details open>
            <summary>
              Request <code>{a.request.method}</code> <span className="small">{a.request.url}</span>
            </summary>
            <Headers headers={a.request.headers} label={`Attempt ${a.n} request headers`} />
            {a.request.body_recorded === false ? (
              <p className="small">
                Body not recorded (this destination keeps no bodies): {a.request.body_bytes} bytes, SHA-256 <code>{a.request.body_sha256}</code>
              </p>
            ) : (
              <Json value={prettyBody(a.request.body)} label={`Attempt ${a.n} request body`} />
            )}
            {a.request.body_truncated && <p className="muted small">Body truncated ({a.request.body_bytes} bytes sent).</p>}
          </details>
        )}
        {a.response ? (
          <details open>
            <summary>Response {a.response.status}</summary>
            <Headers headers={a.response.headers} label={`Attempt ${a.n} response headers`} />
            {a.response.body_recorded === false ? (
              <p className="small">
                Body not recorded: {a.response.body_bytes} bytes read, SHA-256 <code>{a.response.body_sha256}</code>
              </p>
            ) : (
              <Json value={prettyBody(a.response.body) || '(empty body)'} label={`Attempt ${a.n} response body`} />
            )}
            {a.response.body_truncated && <p className="muted small">Body truncated: an attempt records the first 16 KiB (measured as JSON).</p>}
          </details>
        ) : (
          <p className="muted">No response.</p>
        )}
      </div>
    </li>
  );
}

/** The page's title line, the same for a delivery and an erased call's kept summary. */
function DeliveryHead({ d }: { d: Pick<Delivery, 'status' | 'id'> }) {
  return (
    <div className="page-head">
      <h1 id="delivery-title">Delivery</h1>
      <StatusBadge status={d.status} />
      <code className="small">{d.id}</code>
      <Link to="/deliveries">All deliveries</Link>
    </div>
  );
}

/** The delivery's event and destination, the first facts of both views. */
function EventAndDestination({ d }: { d: Pick<Delivery, 'event_id' | 'event_type' | 'destination_id'> }) {
  return (
    <>
      <dt>Event</dt>
      <dd>
        <code>{d.event_id}</code> · {d.event_type}
      </dd>
      <dt>Destination</dt>
      <dd>
        <Link to={`/destinations/${enc(d.destination_id)}`}>{d.destination_id}</Link>
      </dd>
    </>
  );
}

/** An erased call's delivery: how it went, and nothing of what it carried (which no key opens any more). */
function ErasedDeliveryView({ d }: { d: ErasedDelivery }) {
  return (
    <section aria-labelledby="delivery-title">
      <DeliveryHead d={d} />
      <div className="card facts">
        <p role="status">Its call was erased: the event, the transform output, the bodies and the headers no longer exist.</p>
        <dl>
          <EventAndDestination d={d} />
          {d.reason && (
            <>
              <dt>Reason</dt>
              <dd>{d.reason}</dd>
            </>
          )}
        </dl>
      </div>
      <h2>Attempts</h2>
      {d.attempts.length === 0 ? (
        <p className="empty">No attempt.</p>
      ) : (
        <ol className="timeline">
          {d.attempts.map((a) => (
            <li key={a.n} className="attempt card" aria-label={`Attempt ${a.n}`}>
              <div className="attempt-head">
                <strong>Attempt {a.n}</strong>
                {a.verdict && <StatusBadge status={a.verdict} />}
                {a.status !== undefined && <span className={`http http-${String(a.status)[0]}`}>HTTP {a.status}</span>}
                <span className="muted">{time(a.started_at)}</span>
                <span className="muted">{a.duration_ms} ms</span>
                {a.error_code && <code className="code">{a.error_code}</code>}
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function DeliveryDetail({ id }: { id: string }) {
  const qc = useQueryClient();
  const session = useSession();
  const delivery = useQuery({
    queryKey: ['delivery', id],
    queryFn: ({ signal }) => call(client.GET('/v1/deliveries/{id}', { params: { path: { id } }, signal })),
    // While it is still moving, follow it.
    refetchInterval: (q) => (q.state.data && FINAL.has(q.state.data.status) ? false : 1000),
  });
  const after = async () => {
    await qc.invalidateQueries({ queryKey: ['delivery', id] });
    await qc.invalidateQueries({ queryKey: ['deliveries'] });
  };
  const retry = useMutation({ mutationFn: () => call(client.POST('/v1/deliveries/{id}/retry', { params: { path: { id } } })), onSuccess: after });
  const cancel = useMutation({ mutationFn: () => call(client.POST('/v1/deliveries/{id}/cancel', { params: { path: { id } } })), onSuccess: after });

  if (delivery.isPending) return <Loading />;
  if (delivery.error) return <ErrorBox error={delivery.error} />;
  const d: Delivery = delivery.data;
  if ('erased' in d) return <ErasedDeliveryView d={d} />;
  const final = FINAL.has(d.status);
  const transform = d.transform;
  return (
    <section aria-labelledby="delivery-title">
      <DeliveryHead d={d} />
      <div className="card facts">
        <dl>
          <EventAndDestination d={d} />
          <dt>Mapping</dt>
          <dd>{d.mapping_id ? <Link to={`/mappings/${enc(d.mapping_id)}`}>{`${d.mapping_id} v${d.mapping_version ?? '?'}`}</Link> : <span className="muted">none (envelope sent)</span>}</dd>
          {d.reason && (
            <>
              <dt>Reason</dt>
              <dd>{d.reason}</dd>
            </>
          )}
          {d.next_attempt_at && (
            <>
              <dt>Next attempt</dt>
              <dd>{time(d.next_attempt_at)}</dd>
            </>
          )}
          <dt>Workflow</dt>
          <dd>
            {d.workflow.status} · run <code className="small">{d.workflow.run_id}</code> ·{' '}
            <a href={temporalLink(session.data?.temporal_ui_url, d)} target="_blank" rel="noreferrer noopener">
              Open in Temporal UI
            </a>{' '}
            <span className="muted small">(operators)</span>
          </dd>
        </dl>
        <div className="actions">
          <button type="button" onClick={() => retry.mutate()} disabled={retry.isPending || !final}>
            Retry
          </button>
          <button type="button" className="danger" onClick={() => cancel.mutate()} disabled={cancel.isPending || final}>
            Cancel
          </button>
          {retry.data && <span role="status">Retry started (run {retry.data.run_id.slice(0, 8)}…).</span>}
          {cancel.isSuccess && <span role="status">Cancelling…</span>}
        </div>
        <ErrorBox error={retry.error} />
        <ErrorBox error={cancel.error} />
      </div>
      {transform && (
        <div className="card">
          <h2>Transform</h2>
          <p className="muted small">
            {transform.mapping ? `${transform.mapping.id} v${transform.mapping.version}` : 'no mapping'} · {transform.duration_ms} ms
          </p>
          {transform.error && (
            <div className="error">
              <code className="code">{transform.error.code}</code> {transform.error.line ? `line ${transform.error.line}, column ${transform.error.column}: ` : ''}
              {transform.error.message}
            </div>
          )}
          <Json value={transform.request ?? 'null (skipped)'} label="Transform output" />
          {transform.logs && transform.logs.length > 0 && <Json value={transform.logs.join('\n')} label="Transform logs" />}
        </div>
      )}
      <h2>Attempts</h2>
      {d.attempts.length === 0 ? <p className="empty">No attempt yet.</p> : <ol className="timeline">{d.attempts.map((a) => <AttemptView key={a.n} a={a} />)}</ol>}
    </section>
  );
}
