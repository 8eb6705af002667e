import { useConnections, useDestinations, useMappings } from '../queries.ts';
import { Link } from '../router.tsx';
import { Empty, ErrorBox, Loading, StatusBadge } from '../ui.tsx';
import type { Destination } from '../api.ts';

export const destinationState = (d: Destination) => (!d.enabled ? 'disabled' : d.paused ? 'paused' : 'active');

export function DestinationsPage() {
  const destinations = useDestinations();
  const mappings = useMappings();
  const connections = useConnections();
  const mappingOf = (id: string | null) => (id ? mappings.data?.find((m) => m.id === id) : undefined);
  const connectionOf = (id: string | null) => (id ? connections.data?.find((c) => c.id === id) : undefined);
  return (
    <section aria-labelledby="destinations-title">
      <div className="page-head">
        <h1 id="destinations-title">Destinations</h1>
        <Link to="/destinations/new" className="button primary">
          New destination
        </Link>
      </div>
      {destinations.isPending ? (
        <Loading />
      ) : destinations.error ? (
        <ErrorBox error={destinations.error} />
      ) : destinations.data.length === 0 ? (
        <Empty>No destinations yet. Create one to start receiving call events.</Empty>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>URL</th>
              <th>Events</th>
              <th>Mapping</th>
              <th>Connection</th>
              <th>State</th>
              <th>Id</th>
            </tr>
          </thead>
          <tbody>
            {destinations.data.map((d) => {
              const m = mappingOf(d.mapping_id);
              const c = connectionOf(d.connection_id);
              return (
                <tr key={d.id}>
                  <td className="wrap">
                    <Link to={`/destinations/${encodeURIComponent(d.id)}`}>{d.mode === 'pull' ? 'pull (read by its consumers)' : d.url}</Link>
                    {d.description && <div className="muted small">{d.description}</div>}
                  </td>
                  <td className="wrap small">{d.event_types.join(', ')}</td>
                  <td>{m ? `${m.name} (v${d.mapping_version ?? m.version}${d.mapping_version ? ', pinned' : ''})` : d.mapping_id ? <code>{d.mapping_id}</code> : <span className="muted">none</span>}</td>
                  <td>{c ? c.name : d.connection_id ? <code>{d.connection_id}</code> : <span className="muted">none</span>}</td>
                  <td>
                    <StatusBadge status={destinationState(d)} />
                  </td>
                  <td>
                    <code className="small">{d.id}</code>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
