import type { TLSSocket } from 'node:tls';
import { LruCache } from '../../sandboxes/lru-cache.ts';

// A TLS failure is a configuration problem (a CA to add to the connection, a client certificate the
// receiver wants, a certificate to renew): retrying the same request cannot fix it, so it is
// recorded with a precise code and the delivery fails (src/delivery/classify.ts), rather than be
// retried for days. Codes from OpenSSL's verify results and from the alerts a server sends.

const UNKNOWN_CA = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

export interface TlsFailure {
  code: 'tls_unknown_ca' | 'tls_certificate_expired' | 'tls_hostname_mismatch' | 'tls_handshake_refused';
  message: string;
}

// With TLS 1.3 a server refuses a client certificate after the client's handshake is done: its alert
// reaches the socket as an error, but undici, already sending, reports only "other side closed". The
// pool's connector remembers each socket's TLS failure by its local address, which undici's error
// carries, so the attempt can still say what happened.
const recent = new LruCache<string, TlsFailure>(1024);
const socketKey = (s: { localAddress?: string; localPort?: number }) => `${s.localAddress}:${s.localPort}`;

/**
 * Called by the pool's connector for each TLS socket it opens (src/delivery/http-client.ts).
 * `presentsCertificate`: the socket offers a client certificate. A TLS 1.3 server that does not
 * trust it may close without an alert the client sees; a close before any byte of an answer, on such a
 * socket, is read as that refusal.
 */
export function watchTlsSocket(socket: TLSSocket, presentsCertificate: boolean): void {
  const key = socketKey(socket);
  socket.once('error', (err) => {
    const failure = tlsFailureOf(err);
    if (failure) recent.set(key, failure);
  });
  if (!presentsCertificate) return;
  socket.once('end', () => {
    if (recent.get(key) || socket.bytesRead > 0 || socket.getProtocol() !== 'TLSv1.3') return;
    recent.set(key, {
      code: 'tls_handshake_refused',
      message: 'the server closed the connection right after the TLS handshake without answering: it most likely does not accept the connection\'s client certificate (tls.client_certificate)',
    });
  });
}

/** The TLS failure anywhere in an error's cause chain (or seen on its socket), or undefined when it is not one. */
export function tlsFailureOf(err: unknown): TlsFailure | undefined {
  for (let c: unknown = err, depth = 0; c && depth < 6; c = (c as { cause?: unknown }).cause, depth++) {
    const info = c as { code?: unknown; socket?: { localAddress?: string; localPort?: number } };
    const seen = info.code === 'UND_ERR_SOCKET' && info.socket?.localPort ? recent.get(socketKey(info.socket)) : undefined;
    if (seen) return seen;
  }
  for (let c: unknown = err, depth = 0; c && depth < 6; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    const detail = (c as Error).message;
    if (UNKNOWN_CA.has(code))
      return { code: 'tls_unknown_ca', message: `the server's certificate is not signed by a trusted CA (${code}): add its CA to the connection's tls.ca_certificates` };
    if (EXPIRED.has(code)) return { code: 'tls_certificate_expired', message: `the server's certificate is not valid now (${code}): its owner must renew it` };
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { code: 'tls_hostname_mismatch', message: `the server's certificate is not for this host: ${detail}` };
    // The server ended the handshake with an alert: most often it wants a client certificate it trusts.
    if (/^ERR_SSL_.*ALERT/.test(code) || code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED') {
      return { code: 'tls_handshake_refused', message: `the server refused the TLS handshake (${code}): it may require a client certificate (the connection's tls.client_certificate) it trusts` };
    }
  }
  return undefined;
}
