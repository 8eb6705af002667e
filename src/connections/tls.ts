import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { AppError } from '../errors.ts';

// A connection's TLS (DESIGN.md "Connections: TLS"): CA certificates trusted for its requests only, in
// addition to the system's, and a client certificate for mutual TLS. The PEM is write-only and
// encrypted at rest like every connection secret; the view shows what is set, with each
// certificate's subject and expiry. Verification is never turned off.

/** What the tenant sends (PEM text), as stored encrypted. */
export interface TlsMaterial {
  ca_certificates?: string;
  client_certificate?: string;
  client_key?: string;
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  not_after: string;
  /** SHA-256 of the DER: names the certificate in the expiry notice, once per certificate. */
  fingerprint: string;
}

/** What the view shows: which parts are set, and each certificate. */
export interface TlsInfo {
  ca_certificates: CertificateInfo[];
  client_certificate: CertificateInfo | null;
  client_key_set: boolean;
}

/** The undici/node TLS options for the connection's requests: the system's roots plus its own CAs. */
export interface TlsOptions {
  ca?: string[];
  cert?: string;
  key?: string;
}

const MAX_CERTIFICATES = 20;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

const invalid = (field: string, code: string, message: string) => new AppError(400, code, `tls.${field}: ${message}`, { field: `tls.${field}` });

function certificatesOf(field: string, pem: string, now: Date): { pem: string; x509: X509Certificate }[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  // Anything but certificates and whitespace around them is not what this field takes (a key pasted here, a typo).
  if (blocks.length === 0 || pem.replace(PEM_CERTIFICATE, '').trim() !== '') {
    throw invalid(field, 'tls_invalid_pem', 'must be one or more PEM certificates (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----) and nothing else');
  }
  if (blocks.length > MAX_CERTIFICATES) throw invalid(field, 'tls_invalid_pem', `at most ${MAX_CERTIFICATES} certificates`);
  return blocks.map((block, i) => {
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(block);
    } catch {
      throw invalid(field, 'tls_invalid_pem', `certificate ${i + 1} is not a valid X.509 certificate`);
    }
    if (new Date(x509.validTo).getTime() <= now.getTime()) {
      throw invalid(field, 'tls_certificate_expired', `certificate ${i + 1} (${oneLine(x509.subject)}) expired on ${new Date(x509.validTo).toISOString()}`);
    }
    return { pem: block, x509 };
  });
}

const oneLine = (dn: string) => dn.split('\n').filter(Boolean).join(', ');

function infoOf(x509: X509Certificate): CertificateInfo {
  return {
    subject: oneLine(x509.subject),
    issuer: oneLine(x509.issuer),
    not_after: new Date(x509.validTo).toISOString(),
    fingerprint: createHash('sha256').update(x509.raw).digest('hex'),
  };
}

/**
 * Checks what a create or PATCH sends and answers what to store and show. Bad PEM, an expired
 * certificate, a client certificate without its key (or the reverse), an encrypted key, or a key
 * that is not the certificate's: a 400 with a stable code, never quoting the PEM.
 */
export function checkTls(tls: TlsMaterial, now = new Date()): { material: TlsMaterial; info: TlsInfo } {
  const material: TlsMaterial = {};
  const info: TlsInfo = { ca_certificates: [], client_certificate: null, client_key_set: false };
  if (tls.ca_certificates !== undefined) {
    const certs = certificatesOf('ca_certificates', tls.ca_certificates, now);
    material.ca_certificates = certs.map((c) => c.pem).join('\n');
    info.ca_certificates = certs.map((c) => infoOf(c.x509));
  }
  if ((tls.client_certificate === undefined) !== (tls.client_key === undefined)) {
    const missing = tls.client_certificate === undefined ? 'client_certificate' : 'client_key';
    throw invalid(missing, 'tls_client_pair_incomplete', 'mutual TLS needs both client_certificate and client_key');
  }
  if (tls.client_certificate !== undefined && tls.client_key !== undefined) {
    const certs = certificatesOf('client_certificate', tls.client_certificate, now);
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: tls.client_key, format: 'pem' });
    } catch (err) {
      const encrypted = /passphrase|encrypted/i.test(String((err as Error).message)) || /ENCRYPTED/.test(tls.client_key);
      throw invalid('client_key', 'tls_invalid_key', encrypted ? 'an encrypted private key is not supported: send it without a passphrase (it is encrypted at rest here)' : 'must be a PEM private key (-----BEGIN PRIVATE KEY----- …)');
    }
    // The first certificate is the client's own; any others are its chain.
    if (!certs[0]!.x509.checkPrivateKey(key)) throw invalid('client_key', 'tls_key_mismatch', 'is not the private key of client_certificate');
    material.client_certificate = certs.map((c) => c.pem).join('\n');
    material.client_key = key.export({ format: 'pem', type: 'pkcs8' }).toString();
    info.client_certificate = infoOf(certs[0]!.x509);
    info.client_key_set = true;
  }
  return { material, info };
}

export const hasTls = (m: TlsMaterial | null | undefined): m is TlsMaterial => Boolean(m && (m.ca_certificates || m.client_certificate));

/** The TLS options of a connection's requests: its CAs added to the system's roots, never replacing them. */
export function tlsOptionsOf(m: TlsMaterial): TlsOptions {
  return {
    ...(m.ca_certificates ? { ca: [...rootCertificates, ...(m.ca_certificates.match(PEM_CERTIFICATE) ?? [])] } : {}),
    ...(m.client_certificate && m.client_key ? { cert: m.client_certificate, key: m.client_key } : {}),
  };
}

/** Names a TLS configuration, so requests with the same one share a pool and different ones never do. */
export const tlsKeyOf = (m: TlsMaterial): string =>
  createHash('sha256').update(JSON.stringify([m.ca_certificates ?? '', m.client_certificate ?? '', m.client_key ?? ''])).digest('base64url');

/** Every certificate of the view that expires before `before`. */
export function certificatesExpiring(info: TlsInfo | null, before: Date): CertificateInfo[] {
  if (!info) return [];
  return [...info.ca_certificates, ...(info.client_certificate ? [info.client_certificate] : [])].filter((c) => Date.parse(c.not_after) < before.getTime());
}
