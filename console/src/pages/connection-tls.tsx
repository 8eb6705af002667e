import type { CertificateInfo, Connection } from '../api.ts';
import { Field, time } from '../ui.tsx';

// A connection's TLS (DESIGN.md "Connections: TLS"): the PEM is write-only, so the form only ever
// sends new PEM, and the row shows what the API reports (subjects, expiries).

/** A certificate this close to its end is flagged (the worker also emits hook.connection_certificate_expiring). */
const WARN_DAYS = 14;

export type TlsFormValue = { ca_certificates: string; client_certificate: string; client_key: string; remove: boolean };
export const emptyTls: TlsFormValue = { ca_certificates: '', client_certificate: '', client_key: '', remove: false };

/** The body's `tls`: absent when nothing was entered (a PATCH keeps the stored TLS), null to remove it. */
export function tlsBodyOf(v: TlsFormValue): Record<string, string> | null | undefined {
  if (v.remove) return null;
  const set = Object.fromEntries(Object.entries(v).filter(([k, x]) => k !== 'remove' && typeof x === 'string' && x.trim() !== '')) as Record<string, string>;
  return Object.keys(set).length ? set : undefined;
}

export function TlsFields({ value, set, editing }: { value: TlsFormValue; set: (v: TlsFormValue) => void; editing?: Connection }) {
  const stored = editing?.tls;
  const pem = (field: 'ca_certificates' | 'client_certificate' | 'client_key', label: string, hint: string) => (
    <Field label={label} hint={hint}>
      {(id) => (
        <textarea
          id={id}
          rows={3}
          spellCheck={false}
          className="mono"
          value={value[field]}
          placeholder={field === 'client_key' ? '-----BEGIN PRIVATE KEY-----' : '-----BEGIN CERTIFICATE-----'}
          onChange={(e) => set({ ...value, [field]: e.target.value, remove: false })}
        />
      )}
    </Field>
  );
  return (
    <fieldset>
      <legend>TLS (optional)</legend>
      <p className="hint">
        For a receiver or token endpoint with a certificate from your own CA, or one that requires a client certificate (mutual TLS). Write-only
        {stored ? '; entering anything here replaces the stored TLS setting' : ''}. Verification is never turned off.
      </p>
      {pem('ca_certificates', 'CA certificates (PEM)', "Trusted for this connection only, in addition to the system's CAs")}
      <div className="row">
        {pem('client_certificate', 'Client certificate (PEM)', 'Presented to the server; then its chain')}
        {pem('client_key', 'Client private key (PEM)', 'Unencrypted; stored encrypted, never shown')}
      </div>
      {stored && (
        <label>
          <input type="checkbox" checked={value.remove} onChange={(e) => set({ ...emptyTls, remove: e.target.checked })} /> Remove the stored TLS setting
        </label>
      )}
    </fieldset>
  );
}

const daysLeft = (c: CertificateInfo) => Math.floor((Date.parse(c.not_after) - Date.now()) / 86_400_000);

function Certificate({ label, c }: { label: string; c: CertificateInfo }) {
  const soon = daysLeft(c) < WARN_DAYS;
  return (
    <span className={soon ? 'pill warn' : 'pill'} title={`issuer ${c.issuer}\nSHA-256 ${c.fingerprint}`}>
      {label} {c.subject} · expires {time(c.not_after)}
    </span>
  );
}

export function TlsSummary({ c }: { c: Connection }) {
  if (!c.tls) return null;
  return (
    <>
      {' '}
      {c.tls.ca_certificates.map((ca) => (
        <Certificate key={ca.fingerprint} label="CA" c={ca} />
      ))}
      {c.tls.client_certificate && <Certificate label="client cert" c={c.tls.client_certificate} />}
    </>
  );
}

/** A banner for each certificate that expires within 14 days. */
export function ExpiringCertificates({ c }: { c: Connection }) {
  const certs = [...(c.tls?.ca_certificates ?? []), ...(c.tls?.client_certificate ? [c.tls.client_certificate] : [])].filter((x) => daysLeft(x) < WARN_DAYS);
  if (certs.length === 0) return null;
  return (
    <div className="banner warn" role="alert" aria-label="Certificate expiring">
      <div>
        {certs.map((x) => (
          <div key={x.fingerprint}>
            <strong>A certificate of {c.name} expires in {Math.max(0, daysLeft(x))} days</strong> ({x.subject}, {time(x.not_after)}): replace it under Edit before
            deliveries fail.
          </div>
        ))}
      </div>
    </div>
  );
}
