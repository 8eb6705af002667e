import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { call, client, type Destination, type ResponseBody, type SignatureScheme } from '../api.ts';
import { CopyButton, ErrorBox, Field, time } from '../ui.tsx';

// How a destination signs (Standard Webhooks): a shared HMAC secret (`v1,`), shown once, or an
// ed25519 key pair (`v1a,`) whose public key is shown and whose private key never leaves the API.

export const SCHEMES: { scheme: SignatureScheme; label: string }[] = [
  { scheme: 'hmac-sha256', label: 'HMAC-SHA256 (shared secret, v1)' },
  { scheme: 'ed25519', label: 'Ed25519 (public key, v1a)' },
];

export function SchemeSelect({ value, onChange, label = 'Signature scheme' }: { value: SignatureScheme; onChange: (s: SignatureScheme) => void; label?: string }) {
  return (
    <Field label={label} hint="Ed25519: receivers verify with the public key alone and can never sign a webhook themselves.">
      {(fid) => (
        <select id={fid} value={value} onChange={(e) => onChange(e.target.value as SignatureScheme)}>
          {SCHEMES.map((s) => (
            <option key={s.scheme} value={s.scheme}>
              {s.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function SecretOnce({ secret, note }: { secret: string; note: string }) {
  return (
    <div className="notice" role="status">
      <strong>Signing secret</strong> ({note}): <code className="secret">{secret}</code> <CopyButton text={secret} label="Copy secret" />
    </div>
  );
}

export function PublicKey({ publicKey, note }: { publicKey: string; note?: string }) {
  return (
    <div className="notice" role="status" aria-label="Signing public key">
      <strong>Public key</strong>
      {note ? ` (${note})` : ''}: <code className="secret">{publicKey}</code> <CopyButton text={publicKey} label="Copy public key" />
    </div>
  );
}

type Rotated = ResponseBody<'/v1/destinations/{id}/rotate-secret', 'post'>;

/** The destination page's signing section: its scheme and public key, and rotation (which may switch scheme). */
export function SigningSection({ d, onRotated }: { d: Destination; onRotated: () => Promise<void> }) {
  const scheme = d.signature_scheme ?? 'hmac-sha256';
  const [grace, setGrace] = useState('24');
  const [next, setNext] = useState<SignatureScheme>(scheme);
  const rotate = useMutation({
    mutationFn: () =>
      call(client.POST('/v1/destinations/{id}/rotate-secret', { params: { path: { id: d.id } }, body: { grace_s: Math.round(Number(grace) * 3600), signature_scheme: next } })),
    onSuccess: onRotated,
  });
  const previous = (r: Rotated) => `the previous one is valid ${r.previous_valid_until ? `until ${time(r.previous_valid_until)}` : 'no longer'}`;
  return (
    <>
      <h2>Signing</h2>
      <p className="muted small">{SCHEMES.find((s) => s.scheme === scheme)?.label}</p>
      {scheme === 'ed25519' && d.signing_public_key && !rotate.data && <PublicKey publicKey={d.signing_public_key} />}
      <Field label="Grace period (hours)" hint="The old key keeps signing alongside the new one for this long.">
        {(fid) => <input id={fid} type="number" min={0} max={168} step="any" value={grace} onChange={(e) => setGrace(e.target.value)} />}
      </Field>
      <SchemeSelect value={next} onChange={setNext} label="New key's scheme" />
      <button type="button" onClick={() => rotate.mutate()} disabled={rotate.isPending}>
        {scheme === 'hmac-sha256' && next === 'hmac-sha256' ? 'Rotate secret' : 'Rotate key'}
      </button>
      <ErrorBox error={rotate.error} />
      {rotate.data?.signing_secret && <SecretOnce secret={rotate.data.signing_secret} note={`shown once; ${previous(rotate.data)}`} />}
      {rotate.data?.signing_public_key && <PublicKey publicKey={rotate.data.signing_public_key} note={`new; ${previous(rotate.data)}`} />}
    </>
  );
}
