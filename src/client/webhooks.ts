// Webhook verification for receivers: what VoiceOI Hooks signs (Standard Webhooks, DESIGN.md "HTTP
// request sent to a destination"; src/delivery/signing.ts signs) is checked here with WebCrypto only,
// so the same code runs in Node (20+) and in browsers/edge runtimes. The signed content is
// `<webhook-id>.<webhook-timestamp>.<body>`; `webhook-signature` holds one space-separated signature
// per secret the destination signs with (two during a rotation's grace): `v1,<base64 HMAC-SHA256>`
// under a `whsec_` secret, `v1a,<base64 ed25519>` for a `whpk_` public key. One matching signature
// is enough. Comparisons are WebCrypto's `verify`, which does not leak where bytes differ.

/** Why a webhook was refused; `code` is stable. */
export type WebhookRefusal = 'missing_headers' | 'invalid_timestamp' | 'timestamp_too_old' | 'timestamp_in_future' | 'no_matching_signature' | 'invalid_key';

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  constructor(
    readonly code: WebhookRefusal,
    message: string,
  ) {
    super(message);
  }
}

/** Node's `req.headers`, a fetch `Headers`, or a plain record (names in any case). */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyWebhookOptions {
  headers: WebhookHeaders;
  /** The body exactly as received (bytes or their UTF-8 text), never re-serialized JSON. */
  body: string | Uint8Array;
  /** HMAC destinations: the `whsec_` signing secret, or several while rotating. */
  secret?: string | readonly string[];
  /** ed25519 destinations: the `whpk_` public key (`signing_public_key`), or several while rotating. */
  publicKey?: string | readonly string[];
  /** How far the timestamp may be from now, either way (default 300 s, as Standard Webhooks). */
  toleranceS?: number;
  /** Now, in unix seconds (default: the clock). */
  nowS?: number;
}

export interface VerifiedWebhook {
  /** `webhook-id`: the event id, the same on every retry; deduplicate on it. */
  id: string;
  /** `webhook-timestamp`, unix seconds. */
  timestamp: number;
  /** The body parsed as JSON (the event envelope or the mapping's output), or the text when it is not JSON. */
  payload: unknown;
}

const HMAC_PREFIX = 'whsec_';
const PUBLIC_PREFIX = 'whpk_';
const encoder = new TextEncoder();

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(' ') : value;
  }
  return undefined;
}

function base64Bytes(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

// The key type without naming a DOM or Node global type, so both compile this file.
type VerifyKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

const list = (v: string | readonly string[] | undefined): readonly string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : v);

async function keysOf(o: VerifyWebhookOptions): Promise<{ version: 'v1' | 'v1a'; key: VerifyKey }[]> {
  const keys: { version: 'v1' | 'v1a'; key: VerifyKey }[] = [];
  for (const secret of list(o.secret)) {
    if (!secret.startsWith(HMAC_PREFIX)) throw new WebhookVerificationError('invalid_key', 'secret must be a whsec_ signing secret (an ed25519 destination is verified with its whpk_ publicKey)');
    const raw = base64Bytes(secret.slice(HMAC_PREFIX.length));
    if (!raw || raw.length === 0) throw new WebhookVerificationError('invalid_key', 'secret is not whsec_ followed by base64');
    keys.push({ version: 'v1', key: await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']) });
  }
  for (const publicKey of list(o.publicKey)) {
    const raw = publicKey.startsWith(PUBLIC_PREFIX) ? base64Bytes(publicKey.slice(PUBLIC_PREFIX.length)) : undefined;
    if (!raw || raw.length !== 32) throw new WebhookVerificationError('invalid_key', 'publicKey must be whpk_ followed by the base64 of a 32-byte ed25519 key');
    keys.push({ version: 'v1a', key: await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']) });
  }
  if (keys.length === 0) throw new WebhookVerificationError('invalid_key', 'give the destination secret (whsec_) or its public key (whpk_)');
  return keys;
}

/**
 * Checks a webhook VoiceOI Hooks sent (or `voiceoi listen` forwarded) and answers its id, timestamp
 * and payload; throws WebhookVerificationError when it is not authentic or too old/new to trust.
 */
export async function verifyWebhook(o: VerifyWebhookOptions): Promise<VerifiedWebhook> {
  const id = header(o.headers, 'webhook-id');
  const timestamp = header(o.headers, 'webhook-timestamp');
  const signatures = header(o.headers, 'webhook-signature') ?? header(o.headers, 'x-voiceoi-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing_headers', 'missing webhook-id, webhook-timestamp or webhook-signature');
  if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp is not unix seconds');
  const ts = Number(timestamp);
  const now = o.nowS ?? Math.floor(Date.now() / 1000);
  const tolerance = o.toleranceS ?? 300;
  if (ts < now - tolerance) throw new WebhookVerificationError('timestamp_too_old', `webhook-timestamp is ${now - ts} s old (tolerance ${tolerance} s)`);
  if (ts > now + tolerance) throw new WebhookVerificationError('timestamp_in_future', `webhook-timestamp is ${ts - now} s ahead (tolerance ${tolerance} s)`);

  const keys = await keysOf(o);
  // The body's own bytes are signed: bytes given are used as they are, never decoded and re-encoded.
  const bodyBytes = typeof o.body === 'string' ? encoder.encode(o.body) : o.body;
  const prefix = encoder.encode(`${id}.${timestamp}.`);
  const signed = new Uint8Array(prefix.length + bodyBytes.length);
  signed.set(prefix);
  signed.set(bodyBytes, prefix.length);
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',');
    const version = entry.slice(0, comma);
    const signature = comma > 0 ? base64Bytes(entry.slice(comma + 1)) : undefined;
    if (!signature) continue;
    for (const k of keys) {
      if (k.version !== version) continue;
      const ok = await crypto.subtle.verify(version === 'v1' ? 'HMAC' : 'Ed25519', k.key, signature, signed);
      if (ok) return { id, timestamp: ts, payload: parsed(typeof o.body === 'string' ? o.body : new TextDecoder().decode(o.body)) };
    }
  }
  throw new WebhookVerificationError('no_matching_signature', 'no signature matches the given secret or public key');
}

function parsed(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
