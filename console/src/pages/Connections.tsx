import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { call, client, enc, type ConnectionCreate, type ConnectionUpdate } from '../api.ts';
import { useConnections, useOAuth2Providers } from '../queries.ts';
import { navigate, useLocation } from '../router.tsx';
import type { Connection, ConnectionKind, OAuth2Provider } from '../api.ts';
import { Empty, ErrorBox, Field, Loading, StatusBadge, time } from '../ui.tsx';
import { emptyTls, ExpiringCertificates, TlsFields, tlsBodyOf, TlsSummary, type TlsFormValue } from './connection-tls.tsx';

const KINDS: { kind: ConnectionKind; label: string }[] = [
  { kind: 'headers', label: 'Headers (API key, bearer token…)' },
  { kind: 'basic', label: 'Basic auth' },
  { kind: 'oauth2_client_credentials', label: 'OAuth2 client credentials' },
  { kind: 'oauth2_authorization_code', label: 'OAuth2 authorization code (user consent)' },
];

/** Sends the browser through the provider's consent; the API brings it back to this page. */
export function startAuthorization(c: Connection): void {
  const start = 'authorize_path' in c ? c.authorize_path : `/v1/connections/${enc(c.id)}/oauth2/start`;
  window.location.assign(`${start}?return_to=${enc('/console/connections')}`);
}

type HeaderRow = { name: string; value: string };

/** The kind-specific fields; on edit, secret fields are optional (blank keeps the stored secret). */
function KindFields({ kind, values, set, editing }: { kind: ConnectionKind; values: Record<string, string>; set: (k: string, v: string) => void; editing?: Connection }) {
  const secretHint = (field: string) => (editing ? `${field} is set; leave blank to keep it` : 'write-only: never shown again');
  switch (kind) {
    case 'headers':
      return null;
    case 'basic':
      return (
        <div className="row">
          <Field label="Username">{(id) => <input id={id} value={values.username ?? ''} onChange={(e) => set('username', e.target.value)} required={!editing} />}</Field>
          <Field label="Password" hint={secretHint('The password')}>
            {(id) => <input id={id} type="password" autoComplete="new-password" value={values.password ?? ''} onChange={(e) => set('password', e.target.value)} required={!editing} />}
          </Field>
        </div>
      );
    case 'oauth2_client_credentials':
      return (
        <>
          <Field label="Token URL">{(id) => <input id={id} type="url" value={values.token_url ?? ''} onChange={(e) => set('token_url', e.target.value)} required={!editing} />}</Field>
          <div className="row">
            <Field label="Client id">{(id) => <input id={id} value={values.client_id ?? ''} onChange={(e) => set('client_id', e.target.value)} required={!editing} />}</Field>
            <Field label="Client secret" hint={secretHint('The client secret')}>
              {(id) => <input id={id} type="password" autoComplete="new-password" value={values.client_secret ?? ''} onChange={(e) => set('client_secret', e.target.value)} required={!editing} />}
            </Field>
          </div>
          <div className="row">
            <Field label="Scope">{(id) => <input id={id} value={values.scope ?? ''} onChange={(e) => set('scope', e.target.value)} />}</Field>
            <Field label="Audience">{(id) => <input id={id} value={values.audience ?? ''} onChange={(e) => set('audience', e.target.value)} />}</Field>
            <Field label="Client authentication">
              {(id) => (
                <select id={id} value={values.auth_method ?? 'client_secret_basic'} onChange={(e) => set('auth_method', e.target.value)}>
                  <option value="client_secret_basic">client_secret_basic</option>
                  <option value="client_secret_post">client_secret_post</option>
                </select>
              )}
            </Field>
          </div>
        </>
      );
    case 'oauth2_authorization_code':
      return <AuthorizationCodeFields values={values} set={set} editing={editing} />;
  }
}

const providerLabel = (p: OAuth2Provider) => (p.display_name ? `${p.display_name} (${p.name})` : p.name);

/** The provider is one the operator configured at boot (GET /v1/oauth2/providers), so a select. */
function AuthorizationCodeFields({ values, set, editing }: { values: Record<string, string>; set: (k: string, v: string) => void; editing?: Connection }) {
  const providers = useOAuth2Providers();
  if (providers.isPending) return <Loading />;
  if (providers.error) return <ErrorBox error={providers.error} title="The providers could not be read" />;
  const current = values.provider ?? '';
  // A connection keeps its provider after the operator removed it; it stays selectable so that an edit does not change it.
  const gone = current !== '' && !providers.data.some((p) => p.name === current);
  if (providers.data.length === 0 && !gone) {
    return (
      <div className="banner warn" role="status" aria-label="No OAuth2 provider">
        <div>
          <strong>No OAuth2 provider is configured.</strong> An operator adds one by setting <code>VOICEOI_OAUTH2_PROVIDERS</code> on the API to a JSON object
          keyed by provider name, with <code>authorize_url</code>, <code>token_url</code>, <code>client_id</code>, <code>client_secret</code> and optional{' '}
          <code>scopes</code> and <code>display_name</code>, then restarting the API. Register <code>/v1/oauth2/callback</code> on this API&apos;s address as the
          app&apos;s redirect URI at the provider.
        </div>
      </div>
    );
  }
  const selected = providers.data.find((p) => p.name === current);
  const defaults = selected?.scopes.join(' ') ?? '';
  return (
    <div className="row">
      <Field label="Provider" hint="Configured by the operator (VOICEOI_OAUTH2_PROVIDERS)">
        {(id) => (
          <select id={id} value={current} onChange={(e) => set('provider', e.target.value)} required={!editing}>
            <option value="" disabled>
              Choose a provider…
            </option>
            {providers.data.map((p) => (
              <option key={p.name} value={p.name}>
                {providerLabel(p)}
              </option>
            ))}
            {gone && <option value={current}>{current} (no longer configured)</option>}
          </select>
        )}
      </Field>
      <Field label="Scope" hint={defaults ? `Empty: the provider's default scopes (${defaults})` : "Empty: the provider's default scopes"}>
        {(id) => <input id={id} value={values.scope ?? ''} placeholder={defaults} onChange={(e) => set('scope', e.target.value)} />}
      </Field>
    </div>
  );
}

function HeaderRows({ rows, setRows, editing }: { rows: HeaderRow[]; setRows: (r: HeaderRow[]) => void; editing?: Connection }) {
  return (
    <fieldset>
      <legend>Headers</legend>
      {editing && <p className="hint">Stored: {('header_names' in editing ? editing.header_names : []).map((h) => `${h} (value set)`).join(', ')}. Entering headers here replaces the whole set.</p>}
      {rows.map((r, i) => (
        <div className="row" key={i}>
          <Field label={`Header ${i + 1} name`}>
            {(id) => <input id={id} value={r.name} onChange={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))} placeholder="x-api-key" />}
          </Field>
          <Field label={`Header ${i + 1} value`} hint="write-only">
            {(id) => (
              <input id={id} type="password" autoComplete="new-password" value={r.value} onChange={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)))} />
            )}
          </Field>
          <button type="button" className="inline" aria-label={`Remove header ${i + 1}`} onClick={() => setRows(rows.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" onClick={() => setRows([...rows, { name: '', value: '' }])}>
        Add header
      </button>
    </fieldset>
  );
}

/** The request body: only non-empty fields, so a blank secret on edit keeps the stored one. */
function bodyOf(kind: ConnectionKind, name: string, values: Record<string, string>, rows: HeaderRow[], editing: boolean): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  if (name.trim()) b.name = name.trim();
  if (!editing) b.kind = kind;
  const filled = Object.fromEntries(Object.entries(values).filter(([, v]) => v.trim() !== ''));
  if (kind === 'headers') {
    const set = rows.filter((r) => r.name.trim());
    if (set.length || !editing) b.headers = Object.fromEntries(set.map((r) => [r.name.trim(), r.value]));
  } else Object.assign(b, filled);
  return b;
}

function ConnectionForm({ editing, onDone }: { editing?: Connection; onDone: () => void }) {
  const qc = useQueryClient();
  const [kind, setKind] = useState<ConnectionKind>(editing?.kind ?? 'headers');
  const [name, setName] = useState(editing?.name ?? '');
  const [values, setValues] = useState<Record<string, string>>(() =>
    editing
      ? Object.fromEntries(
          (['username', 'token_url', 'client_id', 'scope', 'audience', 'auth_method', 'provider'] as const).flatMap((k) => {
            const v = (editing as Partial<Record<typeof k, unknown>>)[k];
            return typeof v === 'string' ? [[k, v]] : [];
          }),
        )
      : {},
  );
  const [rows, setRows] = useState<HeaderRow[]>(editing ? [] : [{ name: '', value: '' }]);
  const [tls, setTls] = useState<TlsFormValue>(emptyTls);
  // Nothing to create an authorization-code connection with until the operator configures a provider.
  const providers = useOAuth2Providers(kind === 'oauth2_authorization_code' && !editing);
  const noProvider = kind === 'oauth2_authorization_code' && !editing && providers.data?.length === 0;
  const save = useMutation({
    mutationFn: () => {
      const body = bodyOf(kind, name, values, rows, Boolean(editing));
      const tlsBody = tlsBodyOf(tls);
      if (tlsBody !== undefined) body.tls = tlsBody;
      // Built field by field from the form: the server checks it against the kind's schema.
      return editing
        ? call(client.PATCH('/v1/connections/{id}', { params: { path: { id: editing.id } }, body: body as ConnectionUpdate }))
        : call(client.POST('/v1/connections', { body: body as ConnectionCreate }));
    },
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['connections'] });
      onDone();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <form className="card form" onSubmit={submit} aria-label={editing ? `Edit connection ${editing.name}` : 'New connection'}>
      <h2>{editing ? `Edit ${editing.name}` : 'New connection'}</h2>
      <div className="row">
        <Field label="Name">{(id) => <input id={id} value={name} onChange={(e) => setName(e.target.value)} required={!editing} />}</Field>
        {!editing && (
          <Field label="Kind">
            {(id) => (
              <select id={id} value={kind} onChange={(e) => setKind(e.target.value as ConnectionKind)}>
                {KINDS.map((k) => (
                  <option key={k.kind} value={k.kind}>
                    {k.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
      </div>
      {kind === 'headers' && <HeaderRows rows={rows} setRows={setRows} editing={editing} />}
      <KindFields kind={kind} values={values} set={(k, v) => setValues((s) => ({ ...s, [k]: v }))} editing={editing} />
      <TlsFields value={tls} set={setTls} editing={editing} />
      <ErrorBox error={save.error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={save.isPending || noProvider}>
          {editing ? 'Save connection' : 'Create connection'}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Secrets({ c }: { c: Connection }) {
  switch (c.kind) {
    case 'headers':
      return <>{c.header_names?.map((h) => <span key={h} className="pill">{h}: set</span>)}</>;
    case 'basic':
      return (
        <>
          <span className="pill">user {c.username}</span> <span className="pill">password: set</span>
        </>
      );
    case 'oauth2_client_credentials':
      return (
        <>
          <span className="pill">client {c.client_id}</span> <span className="pill">secret: set</span> <span className="small muted">{c.token_url}</span>
        </>
      );
    case 'oauth2_authorization_code':
      return (
        <>
          <span className="pill">provider {c.provider}</span>{' '}
          <span className="small muted">{c.authorized_at ? `authorized ${time(c.authorized_at)}` : 'not authorized yet'}</span>
        </>
      );
  }
}

function ConnectionRow({ c }: { c: Connection }) {
  const qc = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation({ mutationFn: () => call(client.DELETE('/v1/connections/{id}', { params: { path: { id: c.id } } })), onSuccess: () => qc.invalidateQueries({ queryKey: ['connections'] }) });
  const authCode = c.kind === 'oauth2_authorization_code';
  return (
    <li className="card" aria-label={`Connection ${c.name}`}>
      <ExpiringCertificates c={c} />
      {c.status === 'needs_reauth' && (
        <div className="banner warn" role="alert">
          <div>
            <strong>{c.name} needs to be re-authorized.</strong> {authCode && !c.authorized_at ? 'Connect it to start delivering.' : 'The provider refused its refresh token; deliveries using it fail until you reconnect.'}
            {c.last_error && <div className="small">{c.last_error.message}</div>}
          </div>
          {authCode && (
            <button type="button" className="primary" onClick={() => startAuthorization(c)}>
              {c.authorized_at ? 'Reconnect' : 'Connect'}
            </button>
          )}
        </div>
      )}
      <div className="conn">
        <strong>{c.name}</strong>
        <span className="muted small">{c.kind}</span>
        <StatusBadge status={c.status} />
        <code className="small">{c.id}</code>
        <span className="grow">
          <Secrets c={c} />
          <TlsSummary c={c} />
        </span>
        {authCode && c.status === 'connected' && (
          <button type="button" onClick={() => startAuthorization(c)}>
            Reconnect
          </button>
        )}
        <button type="button" onClick={() => setEditing((e) => !e)} aria-expanded={editing}>
          Edit
        </button>
        {!confirming ? (
          <button type="button" className="danger" onClick={() => setConfirming(true)}>
            Delete
          </button>
        ) : (
          <span role="group" aria-label="Confirm deletion">
            <button type="button" className="danger" onClick={() => remove.mutate()}>
              Yes, delete
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </span>
        )}
      </div>
      {c.status === 'error' && c.last_error && (
        <div className="error" role="alert">
          <code className="code">{c.last_error.code}</code> {c.last_error.message} <span className="muted">({time(c.last_error.at)})</span>
        </div>
      )}
      <ErrorBox error={remove.error} />
      {editing && <ConnectionForm editing={c} onDone={() => setEditing(false)} />}
    </li>
  );
}

/** What the OAuth2 callback reported when it sent the browser back here (src/routes/oauth2.ts). */
function OAuthOutcome() {
  const { search } = useLocation();
  const connected = search.get('oauth2') === 'connected';
  const error = search.get('oauth2_error');
  if (!connected && !error) return null;
  const id = search.get('connection_id');
  const dismiss = () => navigate('/connections', { replace: true });
  return (
    <div className={connected ? 'notice banner' : 'error banner'} role={connected ? 'status' : 'alert'}>
      <span>
        {connected ? (
          <>
            Connected <code>{id}</code>: deliveries now use this authorization.
          </>
        ) : (
          <>
            The authorization of <code>{id}</code> did not complete: <code className="code">{error}</code>. Start it again with Connect.
          </>
        )}
      </span>
      <button type="button" onClick={dismiss}>
        Dismiss
      </button>
    </div>
  );
}

export function ConnectionsPage() {
  const connections = useConnections();
  const [creating, setCreating] = useState(false);
  return (
    <section aria-labelledby="connections-title">
      <div className="page-head">
        <h1 id="connections-title">Connections</h1>
        <span className="muted">Credentials destinations use. Secret values are write-only.</span>
        <button type="button" className="primary" onClick={() => setCreating(true)} disabled={creating}>
          New connection
        </button>
      </div>
      <OAuthOutcome />
      {creating && <ConnectionForm onDone={() => setCreating(false)} />}
      {connections.isPending ? (
        <Loading />
      ) : connections.error ? (
        <ErrorBox error={connections.error} />
      ) : connections.data.length === 0 ? (
        <Empty>No connections. Create one when a destination needs credentials.</Empty>
      ) : (
        <ul className="list">
          {connections.data.map((c) => (
            <ConnectionRow key={c.id} c={c} />
          ))}
        </ul>
      )}
    </section>
  );
}
