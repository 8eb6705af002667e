import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { call, client, enc, type EventTypeName, type Subscription } from '../api.ts';
import { useConnections, useEventTypes, useMappings } from '../queries.ts';
import { Link, navigate } from '../router.tsx';
import type { Destination, SignatureScheme } from '../api.ts';
import { ErrorBox, Field, Loading, StatusBadge, time, toIso, toLocalInput } from '../ui.tsx';
import { destinationState } from './Destinations.tsx';
import { SchemeSelect, SecretOnce, SigningSection } from './signing.tsx';
import { DestinationStream } from './DestinationStream.tsx';

interface FormState {
  mode: 'push' | 'pull';
  url: string;
  /** Comma-separated origins (pull only). */
  stream_origins: string;
  description: string;
  event_types: string[];
  mapping_id: string;
  /** '' = the mapping's current version at each event; else a saved version number. */
  mapping_version: string;
  connection_id: string;
  timeout_ms: string;
  retry: string;
  max_in_flight: string;
  /** Chosen at creation; changed later by rotating the key. */
  signature_scheme: SignatureScheme;
  /** false: attempt records keep body sizes and SHA-256 digests only (card data). */
  record_bodies: boolean;
}

const empty: FormState = { mode: 'push', stream_origins: '', url: '', description: '', event_types: [], mapping_id: '', mapping_version: '', connection_id: '', timeout_ms: '15000', retry: '', max_in_flight: '20', signature_scheme: 'hmac-sha256', record_bodies: true };

const fromDestination = (d: Destination): FormState => ({
  mode: d.mode,
  stream_origins: d.stream_origins.join(', '),
  url: d.url ?? '',
  description: d.description ?? '',
  event_types: d.event_types,
  mapping_id: d.mapping_id ?? '',
  mapping_version: d.mapping_version ? String(d.mapping_version) : '',
  connection_id: d.connection_id ?? '',
  timeout_ms: String(d.timeout_ms),
  retry: d.retry_schedule_s.join(', '),
  max_in_flight: String(d.max_in_flight),
  signature_scheme: d.signature_scheme ?? 'hmac-sha256',
  record_bodies: d.record_bodies,
});

/** "0, 5, 30" → [0, 5, 30]; empty → null (the default schedule). */
function parseSchedule(text: string): number[] | null {
  if (!text.trim()) return null;
  return text.split(/[\s,]+/).filter(Boolean).map(Number);
}

export function DestinationDetail({ id }: { id: string | null }) {
  const qc = useQueryClient();
  const destination = useQuery({
    queryKey: ['destination', id],
    queryFn: ({ signal }) => call(client.GET('/v1/destinations/{id}', { params: { path: { id: id! } }, signal })),
    enabled: id !== null,
  });
  const eventTypes = useEventTypes();
  const mappings = useMappings();
  const connections = useConnections();
  const [form, setForm] = useState<FormState>(empty);
  const [createdSecret, setCreatedSecret] = useState<string | null>(null);
  useEffect(() => {
    if (destination.data) setForm(fromDestination(destination.data));
  }, [destination.data]);

  const refresh = async (d?: Destination) => {
    if (d) qc.setQueryData(['destination', d.id], d);
    await qc.invalidateQueries({ queryKey: ['destinations'] });
  };

  const save = useMutation({
    mutationFn: async (f: FormState) => {
      const common = {
        description: f.description.trim() || null,
        // Picked from the catalog GET /v1/event-types lists.
        event_types: f.event_types as Subscription[],
        mapping_id: f.mapping_id || null,
        mapping_version: f.mapping_id && f.mapping_version ? Number(f.mapping_version) : null,
        retry_schedule_s: parseSchedule(f.retry),
        max_in_flight: Number(f.max_in_flight),
        record_bodies: f.record_bodies,
      };
      // A pull destination has no url and sends nothing itself: its consumers read it.
      const body =
        f.mode === 'pull'
          ? { ...common, stream_origins: f.stream_origins.split(/[\s,]+/).filter(Boolean) }
          : { ...common, url: f.url.trim(), connection_id: f.connection_id || null, timeout_ms: Number(f.timeout_ms) };
      if (id === null) return call(client.POST('/v1/destinations', { body: { ...body, mode: f.mode, signature_scheme: f.signature_scheme } }));
      return call(client.PATCH('/v1/destinations/{id}', { params: { path: { id } }, body }));
    },
    onSuccess: async (d) => {
      await refresh(d);
      if (id === null) {
        if ('signing_secret' in d && typeof d.signing_secret === 'string') setCreatedSecret(d.signing_secret);
        navigate(`/destinations/${enc(d.id)}`, { replace: true });
      }
    },
  });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(form);
  };
  const set = <K extends keyof FormState>(k: K, v: FormState[K]) => setForm((f) => ({ ...f, [k]: v }));
  const toggleType = (t: string) => set('event_types', form.event_types.includes(t) ? form.event_types.filter((x) => x !== t) : [...form.event_types, t]);

  if (id !== null && destination.isPending) return <Loading />;
  if (id !== null && destination.error) return <ErrorBox error={destination.error} />;
  const d = destination.data;
  const selectedMapping = mappings.data?.find((m) => m.id === form.mapping_id);
  const pinned = form.mapping_version ? `v${form.mapping_version}` : null;

  return (
    <section aria-labelledby="dest-title">
      <div className="page-head">
        <h1 id="dest-title">{d ? 'Destination' : 'New destination'}</h1>
        {d && <code>{d.id}</code>}
        {d && <StatusBadge status={destinationState(d)} />}
        <Link to="/destinations">All destinations</Link>
      </div>
      {createdSecret && <SecretOnce secret={createdSecret} note="shown once: keep it to verify signatures" />}
      {d && !d.enabled && <ReEnable d={d} onDone={refresh} />}
      <div className="columns">
        <form onSubmit={submit} className="card form" aria-label={d ? 'Edit destination' : 'Create destination'}>
          <Field label="Mode" hint={form.mode === 'pull' ? 'Each delivery is kept as a message that a browser (EventSource), a tool without inbound access or voiceoi listen reads.' : 'Each delivery is an HTTP request to the URL.'}>
            {(fid) => (
              <select id={fid} value={form.mode} disabled={d !== undefined} onChange={(e) => set('mode', e.target.value as FormState['mode'])}>
                <option value="push">push (we call your URL)</option>
                <option value="pull">pull (your consumer reads a stream)</option>
              </select>
            )}
          </Field>
          {form.mode === 'push' ? (
            <Field label="URL">
              {(fid) => <input id={fid} type="url" required value={form.url} onChange={(e) => set('url', e.target.value)} placeholder="https://crm.example.com/hooks/voiceoi" />}
            </Field>
          ) : (
            <Field label="Stream origins" hint="Origins of the pages allowed to open the stream, comma-separated (e.g. https://wallboard.example.com).">
              {(fid) => <input id={fid} value={form.stream_origins} onChange={(e) => set('stream_origins', e.target.value)} placeholder="https://wallboard.example.com" />}
            </Field>
          )}
          <Field label="Description">{(fid) => <input id={fid} value={form.description} onChange={(e) => set('description', e.target.value)} />}</Field>
          <fieldset className="checks">
            <legend>Event types</legend>
            {eventTypes.error && <ErrorBox error={eventTypes.error} />}
            <label>
              <input type="checkbox" checked={form.event_types.includes('*')} onChange={() => toggleType('*')} /> all (<code>*</code>)
            </label>
            {eventTypes.data?.map((t) => (
              <label key={t.type} title={t.description}>
                <input type="checkbox" checked={form.event_types.includes(t.type)} onChange={() => toggleType(t.type)} /> {t.type}
              </label>
            ))}
          </fieldset>
          <div className="row">
            <Field
              label="Mapping"
              hint={
                !selectedMapping
                  ? 'Without a mapping the event envelope is sent as is.'
                  : pinned
                    ? `Every delivery runs ${pinned}, whatever is saved later.`
                    : `Deliveries use its current version (now v${selectedMapping.version}), pinned when each delivery starts.`
              }
            >
              {(fid) => (
                <select id={fid} value={form.mapping_id} onChange={(e) => setForm((f) => ({ ...f, mapping_id: e.target.value, mapping_version: '' }))}>
                  <option value="">none (send the event envelope)</option>
                  {mappings.data?.map((m) => (
                    <option key={m.id} value={m.id}>
                      {m.name} · {m.language} · v{m.version}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <MappingVersionSelect mappingId={form.mapping_id} value={form.mapping_version} onChange={(v) => set('mapping_version', v)} />
            {form.mode === 'push' && (
              <Field label="Connection">
                {(fid) => (
                  <select id={fid} value={form.connection_id} onChange={(e) => set('connection_id', e.target.value)}>
                    <option value="">none</option>
                    {connections.data?.map((c) => (
                      <option key={c.id} value={c.id}>
                        {c.name} · {c.kind}
                        {c.status !== 'connected' ? ` · ${c.status}` : ''}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            )}
          </div>
          {!d && <SchemeSelect value={form.signature_scheme} onChange={(v) => set('signature_scheme', v)} />}
          <div className="row">
            {form.mode === 'push' && (
              <Field label="Timeout (ms)" hint="100 to 60 000 per attempt">
                {(fid) => <input id={fid} type="number" min={100} max={60000} value={form.timeout_ms} onChange={(e) => set('timeout_ms', e.target.value)} />}
              </Field>
            )}
            <Field label="Retry schedule (s)" hint="Seconds before each attempt, e.g. 0, 5, 30, 120. Empty: the default schedule.">
              {(fid) => <input id={fid} value={form.retry} onChange={(e) => set('retry', e.target.value)} placeholder="default" />}
            </Field>
            <Field label="Attempts in flight (max)" hint="1 to 1 000 at once, across all workers; later deliveries wait their turn, oldest first">
              {(fid) => <input id={fid} type="number" min={1} max={1000} value={form.max_in_flight} onChange={(e) => set('max_in_flight', e.target.value)} />}
            </Field>
          </div>
          <label className="check">
            <input type="checkbox" checked={!form.record_bodies} onChange={(e) => set('record_bodies', !e.target.checked)} /> Attempt log without bodies: keep
            only each body&apos;s size and SHA-256 (for destinations that carry card data)
          </label>
          <ErrorBox error={save.error} />
          <div className="actions">
            <button type="submit" className="primary" disabled={save.isPending}>
              {d ? 'Save changes' : 'Create destination'}
            </button>
            {save.isSuccess && !save.isPending && d && <span className="ok" role="status">Saved</span>}
          </div>
        </form>
        {d && <DestinationActions d={d} onDone={refresh} />}
      </div>
      {d?.mode === 'pull' && <DestinationStream d={d} />}
    </section>
  );
}

/** "current" or one of the mapping's saved versions (GET /v1/mappings/:id/versions). */
function MappingVersionSelect({ mappingId, value, onChange }: { mappingId: string; value: string; onChange: (v: string) => void }) {
  const versions = useQuery({
    queryKey: ['mapping-versions', mappingId, 'list'],
    queryFn: ({ signal }) => call(client.GET('/v1/mappings/{id}/versions', { params: { path: { id: mappingId } }, signal })).then((r) => r.items),
    enabled: mappingId !== '',
  });
  return (
    <Field label="Mapping version" hint={versions.error ? <ErrorBox error={versions.error} /> : undefined}>
      {(fid) => (
        <select id={fid} value={value} onChange={(e) => onChange(e.target.value)} disabled={mappingId === ''}>
          <option value="">current (follows new versions)</option>
          {[...(versions.data ?? [])].reverse().map((v) => (
            <option key={v.version} value={String(v.version)}>
              v{v.version} · saved {time(v.created_at)}
            </option>
          ))}
          {/* A pinned version shows while the list loads. */}
          {value && !versions.data?.some((v) => String(v.version) === value) && <option value={value}>v{value}</option>}
        </select>
      )}
    </Field>
  );
}

function ReEnable({ d, onDone }: { d: Destination; onDone: (d: Destination) => Promise<void> }) {
  const m = useMutation({ mutationFn: () => call(client.PATCH('/v1/destinations/{id}', { params: { path: { id: d.id } }, body: { enabled: true } })), onSuccess: onDone });
  return (
    <div className="banner warn" role="alert">
      <div>
        <strong>Disabled.</strong> {d.disabled_reason ?? 'No deliveries are made to this destination.'}
      </div>
      <button type="button" onClick={() => m.mutate()} disabled={m.isPending}>
        Re-enable
      </button>
      <ErrorBox error={m.error} />
    </div>
  );
}

function DestinationActions({ d, onDone }: { d: Destination; onDone: (d: Destination) => Promise<void> }) {
  const qc = useQueryClient();
  const [since, setSince] = useState(() => toLocalInput(new Date(Date.now() - 86_400_000)));
  const [confirming, setConfirming] = useState(false);
  const pause = useMutation({
    mutationFn: () => call(client.POST(d.paused ? '/v1/destinations/{id}/resume' : '/v1/destinations/{id}/pause', { params: { path: { id: d.id } } })),
    onSuccess: onDone,
  });
  const recover = useMutation({
    mutationFn: () => call(client.POST('/v1/destinations/{id}/recover', { params: { path: { id: d.id } }, body: { since: toIso(since) } })),
  });
  const eventTypes = useEventTypes();
  const subscribed = d.event_types.filter((t) => t !== '*');
  const [testType, setTestType] = useState(subscribed[0] ?? 'call_completed');
  const testSend = useMutation({
    mutationFn: () => call(client.POST('/v1/destinations/{id}/test', { params: { path: { id: d.id } }, body: { event_type: testType as EventTypeName } })),
  });
  const remove = useMutation({
    mutationFn: () => call(client.DELETE('/v1/destinations/{id}', { params: { path: { id: d.id } } })),
    onSuccess: async () => {
      qc.removeQueries({ queryKey: ['destination', d.id] });
      await qc.invalidateQueries({ queryKey: ['destinations'] });
      navigate('/destinations');
    },
  });
  return (
    <aside className="card side" aria-label="Destination actions">
      <h2>Delivery</h2>
      <p className="muted small">
        {d.paused ? 'Paused: new deliveries are held until you resume, then sent in order.' : 'Active: events are delivered as they arrive.'}
      </p>
      <button type="button" onClick={() => pause.mutate()} disabled={pause.isPending}>
        {d.paused ? 'Resume' : 'Pause'}
      </button>
      <ErrorBox error={pause.error} />

      <h2>Test</h2>
      <Field label="Test event type" hint="The catalog's sample event, through this destination's mapping and connection, marked X-VoiceOI-Test.">
        {(fid) => (
          <select id={fid} value={testType} onChange={(e) => setTestType(e.target.value)}>
            {(eventTypes.data?.map((t) => t.type) ?? [testType]).map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        )}
      </Field>
      <button type="button" onClick={() => testSend.mutate()} disabled={testSend.isPending || !d.enabled}>
        Send test event
      </button>
      <ErrorBox error={testSend.error} />
      {testSend.data && (
        <p role="status">
          Test sent: <Link to={`/deliveries/${enc(testSend.data.delivery.id)}/`}>open its delivery</Link>
        </p>
      )}

      <SigningSection d={d} onRotated={() => qc.invalidateQueries({ queryKey: ['destination', d.id] })} />

      <h2>Recover</h2>
      <Field label="Recover failed deliveries since">{(fid) => <input id={fid} type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />}</Field>
      <button type="button" onClick={() => recover.mutate()} disabled={recover.isPending || !since}>
        Recover
      </button>
      <ErrorBox error={recover.error} />
      {recover.data && (
        <p role="status">
          Replaying {recover.data.recovered} failed deliver{recover.data.recovered === 1 ? 'y' : 'ies'}
          {recover.data.more ? ' (more remain: recover again)' : ''}.{' '}
          <Link to={`/deliveries?destination_id=${enc(d.id)}`}>See deliveries</Link>
        </p>
      )}

      <h2>Danger zone</h2>
      {!confirming ? (
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          Delete destination
        </button>
      ) : (
        <div className="confirm" role="group" aria-label="Confirm deletion">
          <p>
            Delete <code>{d.id}</code>? Pending deliveries to it are cancelled.
          </p>
          <button type="button" className="danger" onClick={() => remove.mutate()} disabled={remove.isPending}>
            Yes, delete
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </div>
      )}
      <ErrorBox error={remove.error} />
      <p className="muted small">Created {time(d.created_at)} · updated {time(d.updated_at)}</p>
    </aside>
  );
}
