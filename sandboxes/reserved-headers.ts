// The request headers no tenant-supplied configuration may set: a header connection
// (src/routes/connections.schema.ts), a transform's output (result-shape.ts), and, as a last line,
// what the attempt sends (src/delivery/prepare-request.ts). One list, so the three never disagree.
//
// Why each group: VoiceOI sets the signature, identity and framing of every delivery, and a receiver
// trusts them; Host, Origin, Cookie, Forwarded and the X-Forwarded-* family are claims about who is
// calling from where, which let a destination aimed at some service impersonate a browser, a session
// or a trusted proxy (issue 10: a forged `Origin` decrypted another account's payloads); hop-by-hop
// headers belong to the connection between VoiceOI and the receiver, not to the request.

const EXACT = new Set([
  // set by VoiceOI on every delivery
  'content-type',
  'user-agent',
  // who is calling, from where
  'host',
  'origin',
  'cookie',
  'forwarded',
  'x-real-ip',
  // framing and hop-by-hop (RFC 9110 §7.6.1)
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'upgrade',
  'te',
  'trailer',
  'expect',
]);
// webhook-id/-timestamp/-signature and X-VoiceOI-Event/-Delivery/-Attempt/-Signature, and any future one.
const PREFIXES = ['webhook-', 'x-voiceoi-', 'x-forwarded-'];

/** Case-insensitive. */
export function isReservedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return EXACT.has(lower) || PREFIXES.some((p) => lower.startsWith(p));
}

/** RFC 9110 token: what a header name may be. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/**
 * Visible ASCII, space, tab and obs-text (RFC 9110 field-value): no CR/LF (header injection), NUL or
 * other control characters, nothing above U+00FF. It is what the HTTP client accepts, so a value
 * passing here is one the attempt can send.
 */
export const HEADER_VALUE = /^[\t\x20-\x7E\x80-\xFF]*$/;
export const MAX_HEADER_NAME = 100;
export const MAX_HEADER_VALUE = 8 * 1024;
