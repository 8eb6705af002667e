import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { VoiceoiApiError, call, client, enc, type EventEnvelope, type Mapping, type MappingLanguage, type TestResult } from '../api.ts';
import { useDestinations, useEventTypes, useMappings } from '../queries.ts';
import { Link, navigate } from '../router.tsx';
import { sampleEvent } from '../samples.ts';
import { Empty, ErrorBox, Field, Json, Loading, time } from '../ui.tsx';
import { CodeEditor, DiffView } from './CodeEditor.tsx';
import { problemsOf, type CheckError } from './problems.ts';
import { TEMPLATES } from './templates.ts';

/** At most one preview per this many ms while typing; an isolated keystroke runs at once. */
const PREVIEW_INTERVAL_MS = 250;
const NONE: CheckError[] = [];

type Preview =
  | { state: 'idle' }
  | { state: 'running' }
  | { state: 'ok'; result: TestResult; at: number }
  | { state: 'error'; error: unknown; logs: string[]; duration_ms?: number; at: number };

/**
 * Runs the draft through POST /v1/mappings/test as it changes: leading edge when idle, then at most
 * once per PREVIEW_INTERVAL_MS with the latest text, so fast typing never queues stale runs.
 */
function useLivePreview(language: MappingLanguage, source: string, sampleText: string) {
  const [preview, setPreview] = useState<Preview>({ state: 'idle' });
  const [sampleError, setSampleError] = useState<string | null>(null);
  const latest = useRef({ language, source, sampleText });
  latest.current = { language, source, sampleText };
  const timer = useRef<number | undefined>(undefined);
  const lastRun = useRef(0);
  const inFlight = useRef<AbortController | null>(null);
  const seq = useRef(0);

  useEffect(() => {
    const run = async () => {
      timer.current = undefined;
      const { language: lang, source: src, sampleText: text } = latest.current;
      let event: unknown;
      try {
        event = JSON.parse(text);
        setSampleError(null);
      } catch (err) {
        setSampleError(`The sample event is not valid JSON: ${(err as Error).message}`);
        return;
      }
      if (!src.trim()) return;
      inFlight.current?.abort();
      const ctrl = new AbortController();
      inFlight.current = ctrl;
      const mine = ++seq.current;
      lastRun.current = performance.now();
      setPreview((p) => (p.state === 'idle' ? { state: 'running' } : p));
      try {
        // The sample is whatever JSON was typed: the server checks it against the catalog.
        const body = { language: lang, source: src, event: event as EventEnvelope };
        const result = await call(client.POST('/v1/mappings/test', { body, signal: ctrl.signal }));
        if (mine === seq.current) setPreview({ state: 'ok', result, at: performance.now() });
      } catch (error) {
        if ((error as Error).name === 'AbortError' || mine !== seq.current) return;
        const body = error instanceof VoiceoiApiError ? (error.body as { logs?: string[]; duration_ms?: number }) : {};
        setPreview({ state: 'error', error, logs: body.logs ?? [], duration_ms: body.duration_ms, at: performance.now() });
      }
    };
    const since = performance.now() - lastRun.current;
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => void run(), Math.max(0, PREVIEW_INTERVAL_MS - since));
    return () => window.clearTimeout(timer.current);
  }, [language, source, sampleText]);

  useEffect(() => () => inFlight.current?.abort(), []);
  return { preview, sampleError };
}

/** How many of the account's latest deliveries the "Recent event" picker offers (one entry per event). */
const RECENT_DELIVERIES = 20;

function useSample() {
  const types = useEventTypes();
  const [type, setType] = useState('call_completed');
  const [recent, setRecent] = useState('');
  const [sampleText, setSampleText] = useState(() => JSON.stringify(sampleEvent('call_completed'), null, 2));
  const pickType = (t: string) => {
    setType(t);
    setRecent('');
    setSampleText(JSON.stringify(sampleEvent(t), null, 2));
  };
  // The envelope a delivery carried, read back from the API; it replaces the editable JSON.
  const loadRecent = useMutation({
    mutationFn: (deliveryId: string) => call(client.GET('/v1/deliveries/{id}/event', { params: { path: { id: deliveryId } } })),
    onSuccess: (event) => setSampleText(JSON.stringify(event, null, 2)),
  });
  const pickRecent = (deliveryId: string) => {
    setRecent(deliveryId);
    if (deliveryId) loadRecent.mutate(deliveryId);
  };
  return { types: types.data?.map((t) => t.type) ?? [type], type, pickType, sampleText, setSampleText, recent, pickRecent, loadRecent };
}

/** The account's latest events, newest first: one entry per event (an event fans out to several deliveries). */
function useRecentEvents() {
  return useQuery({
    queryKey: ['deliveries', 'recent'],
    queryFn: ({ signal }) => call(client.GET('/v1/deliveries', { params: { query: { limit: RECENT_DELIVERIES } }, signal })).then((r) => r.items),
    select: (items) => items.filter((d, i) => items.findIndex((x) => x.event_id === d.event_id) === i),
  });
}

function RecentEventPicker({ sample }: { sample: ReturnType<typeof useSample> }) {
  const recent = useRecentEvents();
  const items = recent.data ?? [];
  return (
    <>
      <Field label="Recent event" hint={recent.isPending ? 'Loading recent events…' : items.length === 0 && !recent.error ? 'No events yet: send one to see it here.' : 'Loads the event a recent delivery carried.'}>
        {(id) => (
          <select id={id} value={sample.recent} onChange={(e) => sample.pickRecent(e.target.value)} disabled={items.length === 0}>
            <option value="">choose an event…</option>
            {items.map((d) => (
              <option key={d.id} value={d.id}>
                {d.event_type} · {d.event_id} · {time(d.started_at)}
              </option>
            ))}
          </select>
        )}
      </Field>
      <ErrorBox error={recent.error} title="Recent events" />
      <ErrorBox error={sample.loadRecent.error} title="Event not loaded" />
    </>
  );
}

function TestPanel({ sample, preview, sampleError, problems }: { sample: ReturnType<typeof useSample>; preview: Preview; sampleError: string | null; problems: CheckError[] }) {
  const { type, pickType, sampleText, setSampleText } = sample;
  const types = sample.types;

  return (
    <section className="card test-panel" aria-labelledby="test-title">
      <h2 id="test-title">Test</h2>
      <div className="row">
        <Field label="Sample event type">
          {(id) => (
            <select id={id} value={type} onChange={(e) => pickType(e.target.value)}>
              {types.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          )}
        </Field>
        <RecentEventPicker sample={sample} />
      </div>
      <Field label="Sample event (JSON)">
        {(id) => <textarea id={id} className="mono" rows={10} spellCheck={false} value={sampleText} onChange={(e) => setSampleText(e.target.value)} />}
      </Field>
      {sampleError && (
        <div className="error" role="alert">
          {sampleError}
        </div>
      )}
      <div className="preview" aria-live="polite" aria-busy={preview.state === 'running'} data-testid="preview">
        <h3>
          Preview{' '}
          {preview.state === 'ok' && <span className="muted small" data-testid="preview-duration">{preview.result.duration_ms} ms in the sandbox</span>}
          {preview.state === 'error' && preview.duration_ms !== undefined && <span className="muted small">{preview.duration_ms} ms in the sandbox</span>}
        </h3>
        {preview.state === 'idle' || preview.state === 'running' ? (
          <p className="muted">Running…</p>
        ) : preview.state === 'ok' ? (
          <>
            {preview.result.result === null || preview.result.result === undefined ? (
              <p className="notice">This event is skipped (the mapping returned nothing).</p>
            ) : (
              <Json value={preview.result.result} label="Preview result" />
            )}
          </>
        ) : (
          <>
            <ErrorBox error={preview.error} />
            {problems.length > 0 && (
              <ul className="problems" aria-label="Problems">
                {problems.map((p, i) => (
                  <li key={i}>
                    line {p.line}, column {p.column}: {p.message}
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
        {(preview.state === 'ok' ? preview.result.logs : preview.state === 'error' ? preview.logs : []).length > 0 && (
          <>
            <h3>Console</h3>
            <Json value={(preview.state === 'ok' ? preview.result.logs : preview.state === 'error' ? preview.logs : []).join('\n')} label="Console logs" />
          </>
        )}
      </div>
    </section>
  );
}

/** One version's source, fetched when it is compared (the versions list carries none). */
function useVersionSource(mappingId: string, version: number) {
  return useQuery({
    queryKey: ['mapping-version', mappingId, version],
    queryFn: ({ signal }) => call(client.GET('/v1/mappings/{id}/versions/{version}', { params: { path: { id: mappingId, version } }, signal })),
    staleTime: Infinity,
  });
}

function Versions({ mapping }: { mapping: Mapping }) {
  // The newest 100: the list is paged (next_cursor) and older versions are rarely compared.
  const versions = useQuery({
    queryKey: ['mapping-versions', mapping.id, mapping.version],
    queryFn: ({ signal }) => call(client.GET('/v1/mappings/{id}/versions', { params: { path: { id: mapping.id }, query: { limit: 100 } }, signal })).then((r) => r.items),
  });
  const [a, setA] = useState<number | null>(null);
  const [b, setB] = useState<number | null>(null);
  const items = versions.data ?? [];
  const left = a ?? (items.length > 1 ? mapping.version - 1 : mapping.version);
  const right = b ?? mapping.version;
  const leftSource = useVersionSource(mapping.id, left);
  const rightSource = useVersionSource(mapping.id, right);
  return (
    <section className="card" aria-labelledby="versions-title">
      <h2 id="versions-title">Versions</h2>
      {versions.isPending ? (
        <Loading />
      ) : versions.error ? (
        <ErrorBox error={versions.error} />
      ) : (
        <>
          <ol className="versions">
            {items.map((v) => (
              <li key={v.version}>
                <strong>v{v.version}</strong> <span className="muted small">{time(v.created_at)}</span>
                {v.version === mapping.version && <span className="pill">current</span>}
              </li>
            ))}
          </ol>
          {items.length > 1 && (
            <>
              <div className="row">
                <Field label="Compare version">
                  {(id) => (
                    <select id={id} value={left} onChange={(e) => setA(Number(e.target.value))}>
                      {items.map((v) => (
                        <option key={v.version} value={v.version}>
                          v{v.version}
                        </option>
                      ))}
                    </select>
                  )}
                </Field>
                <Field label="with version">
                  {(id) => (
                    <select id={id} value={right} onChange={(e) => setB(Number(e.target.value))}>
                      {items.map((v) => (
                        <option key={v.version} value={v.version}>
                          v{v.version}
                        </option>
                      ))}
                    </select>
                  )}
                </Field>
              </div>
              <DiffView original={leftSource.data?.source ?? ''} modified={rightSource.data?.source ?? ''} language={mapping.language} />
            </>
          )}
        </>
      )}
    </section>
  );
}

function UsedBy({ mapping }: { mapping: Mapping }) {
  const destinations = useDestinations();
  const users = destinations.data?.filter((d) => d.mapping_id === mapping.id) ?? [];
  return (
    <section className="card" aria-labelledby="usedby-title">
      <h2 id="usedby-title">Used by</h2>
      {destinations.error && <ErrorBox error={destinations.error} />}
      {users.length === 0 ? (
        <p className="muted">No destination uses this mapping.</p>
      ) : (
        <ul>
          {users.map((d) => (
            <li key={d.id}>
              <Link to={`/destinations/${enc(d.id)}`}>{d.url}</Link> <span className="muted small">{d.mapping_version ? `v${d.mapping_version} (pinned)` : `v${mapping.version} (follows the current version)`}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function MappingEditor({ id }: { id: string | null }) {
  const qc = useQueryClient();
  const existing = useQuery({
    queryKey: ['mapping', id],
    queryFn: ({ signal }) => call(client.GET('/v1/mappings/{id}', { params: { path: { id: id! } }, signal })),
    enabled: id !== null,
  });
  const [name, setName] = useState('');
  const [language, setLanguage] = useState<MappingLanguage>('typescript');
  const [source, setSource] = useState(TEMPLATES.typescript);
  const [saveProblems, setSaveProblems] = useState<CheckError[]>([]);
  const sample = useSample();
  const { preview, sampleError } = useLivePreview(language, source, sample.sampleText);
  const previewProblems = useMemo(() => (preview.state === 'error' ? problemsOf(preview.error) : NONE), [preview]);
  // The live check is newer than the last save attempt once it has run on the current text.
  const problems = preview.state === 'ok' ? NONE : previewProblems.length ? previewProblems : saveProblems;
  useEffect(() => {
    if (existing.data) {
      setName(existing.data.name);
      setLanguage(existing.data.language);
      setSource(existing.data.source ?? '');
    }
  }, [existing.data]);

  const save = useMutation({
    mutationFn: () =>
      call(id === null ? client.POST('/v1/mappings', { body: { name: name.trim(), language, source } }) : client.PUT('/v1/mappings/{id}', { params: { path: { id } }, body: { source } })),
    onSuccess: async (m) => {
      setSaveProblems([]);
      qc.setQueryData(['mapping', m.id], { ...m, source });
      await qc.invalidateQueries({ queryKey: ['mappings'] });
      if (id === null) navigate(`/mappings/${enc(m.id)}`, { replace: true });
    },
    onError: (err) => setSaveProblems(problemsOf(err)),
  });

  if (id !== null && existing.isPending) return <Loading />;
  if (id !== null && existing.error) return <ErrorBox error={existing.error} />;
  const m = existing.data;
  const dirty = m ? source !== (m.source ?? '') : true;
  return (
    <div className="mapping">
      <div className="mapping-main">
        <div className="card form">
          <div className="row">
            <Field label="Mapping name">{(fid) => <input id={fid} value={name} onChange={(e) => setName(e.target.value)} disabled={Boolean(m)} required />}</Field>
            <Field label="Language">
              {(fid) => (
                <select
                  id={fid}
                  value={language}
                  disabled={Boolean(m)}
                  onChange={(e) => {
                    const l = e.target.value as MappingLanguage;
                    setLanguage(l);
                    setSource(TEMPLATES[l]);
                  }}
                >
                  <option value="typescript">TypeScript</option>
                  <option value="jsonata">JSONata</option>
                </select>
              )}
            </Field>
            {m && (
              <div className="field">
                <span className="label">Version</span>
                <span>
                  v{m.version} <span className="muted small">saved {time(m.updated_at)}</span>
                </span>
              </div>
            )}
          </div>
          <CodeEditor value={source} language={language} onChange={setSource} problems={problems} label={`${language} mapping source`} />
          <ErrorBox error={save.error} title="Not saved" />
          <div className="actions">
            <button type="button" className="primary" onClick={() => save.mutate()} disabled={save.isPending || !name.trim() || (Boolean(m) && !dirty)}>
              {m ? `Save as v${m.version + 1}` : 'Save mapping'}
            </button>
            {m && !dirty && <span className="muted small">No unsaved changes</span>}
            {language === 'typescript' && <span className="muted small">Types: the published voiceoi.d.ts · Ctrl+Space suggests · Ctrl+M makes Tab move focus</span>}
          </div>
        </div>
        {m && <Versions mapping={m} />}
        {m && <UsedBy mapping={m} />}
      </div>
      <TestPanel sample={sample} preview={preview} sampleError={sampleError} problems={previewProblems} />
    </div>
  );
}

export default function MappingsPage({ id }: { id: string | null | 'new' }) {
  const mappings = useMappings();
  const current = id === 'new' ? null : id;
  const editing = id !== null;
  const list = useMemo(() => mappings.data ?? [], [mappings.data]);
  return (
    <section aria-labelledby="mappings-title">
      <div className="page-head">
        <h1 id="mappings-title">Mappings</h1>
        <Link to="/mappings/new" className="button primary">
          New mapping
        </Link>
      </div>
      <div className="with-list">
        <nav className="card sublist" aria-label="Mappings">
          {mappings.isPending ? (
            <Loading />
          ) : mappings.error ? (
            <ErrorBox error={mappings.error} />
          ) : list.length === 0 ? (
            <Empty>No mappings yet.</Empty>
          ) : (
            <ul>
              {list.map((m) => (
                <li key={m.id}>
                  <Link to={`/mappings/${enc(m.id)}`} aria-current={m.id === current ? 'page' : undefined}>
                    {m.name}
                  </Link>
                  <span className="muted small">
                    {' '}
                    {m.language} · v{m.version}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </nav>
        {editing ? <MappingEditor key={id} id={current} /> : <Empty>Pick a mapping, or create a new one: TypeScript with the published types, or JSONata.</Empty>}
      </div>
    </section>
  );
}
