import { useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useEffect } from 'react';
import { VoiceoiApiError } from './api.ts';
import { ConnectionsPage } from './pages/Connections.tsx';
import { DeliveriesPage } from './pages/Deliveries.tsx';
import { DeliveryDetail } from './pages/DeliveryDetail.tsx';
import { DestinationDetail } from './pages/DestinationDetail.tsx';
import { DestinationsPage } from './pages/Destinations.tsx';
import { EventTypesPage } from './pages/EventTypes.tsx';
import { Link, match, navigate, useLocation } from './router.tsx';
import { SignIn, useSession, useSignOut } from './session.tsx';
import { ErrorBox, Loading } from './ui.tsx';

// Monaco (several MB) is loaded only when the Mappings page is opened.
const MappingsPage = lazy(() => import('./mappings/MappingsPage.tsx'));

const NAV = [
  { to: '/destinations', label: 'Destinations' },
  { to: '/mappings', label: 'Mappings' },
  { to: '/connections', label: 'Connections' },
  { to: '/deliveries', label: 'Deliveries' },
  { to: '/event-types', label: 'Event types' },
];

function Routes({ path }: { path: string }) {
  let m: Record<string, string> | null;
  if (path === '/' || path === '') return null;
  if (match('/destinations', path)) return <DestinationsPage />;
  if (match('/destinations/new', path)) return <DestinationDetail id={null} />;
  if ((m = match('/destinations/:id', path))) return <DestinationDetail id={m.id!} />;
  if (match('/mappings', path) || match('/mappings/new', path) || match('/mappings/:id', path)) {
    const id = match('/mappings/:id', path)?.id ?? null;
    return (
      <Suspense fallback={<Loading what="Loading the editor" />}>
        <MappingsPage id={id === 'new' ? 'new' : id} />
      </Suspense>
    );
  }
  if (match('/connections', path)) return <ConnectionsPage />;
  if (match('/deliveries', path)) return <DeliveriesPage />;
  if ((m = match('/deliveries/:id', path))) return <DeliveryDetail id={m.id!} />;
  if (match('/event-types', path)) return <EventTypesPage />;
  return (
    <div className="error" role="alert">
      <code className="code">page_not_found</code> No console page at {path}. <Link to="/destinations">Go to Destinations</Link>
    </div>
  );
}

export function App() {
  const session = useSession();
  const signOut = useSignOut();
  const qc = useQueryClient();
  const { path } = useLocation();

  useEffect(() => {
    if (session.data && (path === '/' || path === '')) navigate('/destinations', { replace: true });
  }, [session.data, path]);

  // An expired or revoked session shows up as a 401 on any call: back to sign-in.
  useEffect(() => {
    return qc.getQueryCache().subscribe((e) => {
      const err = e.query.state.error;
      if (e.query.queryKey[0] !== 'session' && err instanceof VoiceoiApiError && err.status === 401) void qc.invalidateQueries({ queryKey: ['session'] });
    });
  }, [qc]);

  if (session.isPending) return <Loading what="Checking your session" />;
  if (session.error) return <ErrorBox error={session.error} title="The console cannot reach the API" />;
  if (!session.data) return <SignIn />;

  const section = '/' + (path.split('/')[1] ?? '');
  return (
    <div className="shell">
      <header className="top">
        <span className="brand">VoiceOI Hooks</span>
        <nav aria-label="Main">
          {NAV.map((n) => (
            <Link key={n.to} to={n.to} aria-current={section === n.to ? 'page' : undefined}>
              {n.label}
            </Link>
          ))}
        </nav>
        <span className="account" title={session.data.account.id}>
          {session.data.account.name}
        </span>
        <button type="button" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
          Sign out
        </button>
      </header>
      <main className="content">
        <Routes path={path} />
      </main>
    </div>
  );
}
