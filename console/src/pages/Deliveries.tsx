import { useInfiniteQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { call, client, type DeliveryQuery, type DeliveryStatus } from '../api.ts';
import { useDestinations, useEventTypes } from '../queries.ts';
import { Link, navigate, useLocation } from '../router.tsx';
import { Empty, ErrorBox, Field, Loading, StatusBadge, time, toIso } from '../ui.tsx';

// Every status the API lists by: a status added to the document fails to compile here until it is offered.
const STATUSES: Record<DeliveryStatus, true> = { pending: true, delivered: true, retrying: true, failed: true, skipped: true, cancelled: true };
const DELIVERY_STATUSES = Object.keys(STATUSES) as DeliveryStatus[];

/** A console URL's query string, from the set values only. */
function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

const FILTERS = ['status', 'event_type', 'destination_id', 'call_id', 'lead_id', 'since'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

/** The filters live in the URL, so a filtered listing can be shared and survives reload. */
const filtersOf = (search: URLSearchParams): Filters => Object.fromEntries(FILTERS.flatMap((k) => (search.get(k) ? [[k, search.get(k)!]] : [])));

const isoToLocal = (iso?: string) => {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
};

export function DeliveriesPage() {
  const { search } = useLocation();
  const applied = filtersOf(search);
  const [draft, setDraft] = useState<Filters>(applied);
  const destinations = useDestinations();
  const eventTypes = useEventTypes();
  const list = useInfiniteQuery({
    queryKey: ['deliveries', applied],
    queryFn: ({ pageParam, signal }) =>
      // The filters come from the URL as typed: the API refuses a wrong one with a message the page shows.
      call(client.GET('/v1/deliveries', { params: { query: { ...(applied as DeliveryQuery), limit: 25, cursor: pageParam } }, signal })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const apply = (e: FormEvent) => {
    e.preventDefault();
    navigate(`/deliveries${query(draft)}`);
  };
  const set = (k: keyof Filters, v: string) => setDraft((d) => ({ ...d, [k]: v || undefined }));
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section aria-labelledby="deliveries-title">
      <div className="page-head">
        <h1 id="deliveries-title">Deliveries</h1>
        <button type="button" onClick={() => void list.refetch()} disabled={list.isFetching}>
          {list.isFetching ? 'Refreshing…' : 'Refresh'}
        </button>
      </div>
      <form className="filters card" onSubmit={apply} aria-label="Filter deliveries">
        <Field label="Status">
          {(id) => (
            <select id={id} value={draft.status ?? ''} onChange={(e) => set('status', e.target.value)}>
              <option value="">any</option>
              {DELIVERY_STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Event type">
          {(id) => (
            <select id={id} value={draft.event_type ?? ''} onChange={(e) => set('event_type', e.target.value)}>
              <option value="">any</option>
              {eventTypes.data?.map((t) => (
                <option key={t.type}>{t.type}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Destination">
          {(id) => (
            <select id={id} value={draft.destination_id ?? ''} onChange={(e) => set('destination_id', e.target.value)}>
              <option value="">any</option>
              {destinations.data?.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.url}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Call id">{(id) => <input id={id} value={draft.call_id ?? ''} onChange={(e) => set('call_id', e.target.value)} />}</Field>
        <Field label="Lead id">{(id) => <input id={id} value={draft.lead_id ?? ''} onChange={(e) => set('lead_id', e.target.value)} />}</Field>
        <Field label="Since">{(id) => <input id={id} type="datetime-local" value={isoToLocal(draft.since)} onChange={(e) => set('since', toIso(e.target.value))} />}</Field>
        <div className="actions">
          <button type="submit" className="primary">
            Apply filters
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft({});
              navigate('/deliveries');
            }}
          >
            Clear
          </button>
        </div>
      </form>
      {list.isPending ? (
        <Loading />
      ) : list.error ? (
        <ErrorBox error={list.error} />
      ) : items.length === 0 ? (
        <Empty>No deliveries match. New ones appear within a second of their event.</Empty>
      ) : (
        <>
          <table className="grid">
            <thead>
              <tr>
                <th>Status</th>
                <th>Event</th>
                <th>Type</th>
                <th>Destination</th>
                <th>Call</th>
                <th>Lead</th>
                <th>Started</th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={`${d.id}:${d.run_id}`}>
                  <td>
                    <StatusBadge status={d.status} />
                  </td>
                  <td>
                    {/* The trailing slash: an event id may end in ".json", which the server would read as a file. */}
                    <Link to={`/deliveries/${encodeURIComponent(d.id)}/`} aria-label={`Delivery of ${d.event_id} to ${d.destination_id}`}>
                      {d.event_id}
                    </Link>
                  </td>
                  <td>{d.event_type}</td>
                  <td>
                    <code className="small">{d.destination_id}</code>
                  </td>
                  <td>{d.call_id ?? '—'}</td>
                  <td>{d.lead_id ?? '—'}</td>
                  <td className="nowrap">{time(d.started_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.hasNextPage && (
            <button type="button" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
              {list.isFetchingNextPage ? 'Loading…' : 'Load more'}
            </button>
          )}
        </>
      )}
    </section>
  );
}
