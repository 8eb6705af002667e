import { HEADER_NAME, HEADER_VALUE, isReservedHeader } from '../../sandboxes/reserved-headers.ts';
import type { AttemptInput, AttemptRecord, OutgoingRequest, RecordedRequest } from '../../workflows/types.ts';
import type { Destination } from '../store/destinations.ts';
import { signWebhook } from './signing.ts';
import { inputAccount, ownedByInputAccount } from './input-account.ts';

const REDACTED = '[redacted]';

/** What send() puts on the wire. */
export interface HttpRequest {
  method: OutgoingRequest['method'];
  url: URL;
  headers: Record<string, string>;
  body: string;
}

/** The request and the record of it that may enter history once bounded (secret header values redacted). */
export interface PreparedRequest {
  request: HttpRequest;
  record: RecordedRequest;
}

/** An attempt that ends before anything is sent: the destination's state or the request refused it. */
export type NotSent = Omit<AttemptRecord, 'n' | 'started_at' | 'duration_ms'>;

/**
 * Builds and signs the request of one attempt, without I/O: the destination's state and account are
 * checked, the transform's path and headers re-checked (they are tenant-supplied), and the record made.
 * `signingSecrets` are the destination's secrets valid at `startedAt`, which is also the signed timestamp.
 */
export function prepareRequest(
  destination: Destination,
  input: AttemptInput,
  signingSecrets: readonly string[],
  ctx: { version: string; startedAt: Date },
): PreparedRequest | { notSent: NotSent } {
  const dest = destination;
  const accountId = inputAccount(input);
  if (!ownedByInputAccount(input, dest.account_id)) {
    return {
      notSent: {
        verdict: 'failed',
        error: { code: 'destination_not_in_account', message: `destination ${dest.id} does not belong to account ${accountId}; nothing was sent` },
      },
    };
  }
  if (!dest.enabled)
    return { notSent: { verdict: 'cancelled', error: { code: 'destination_disabled', message: dest.disabled_reason ?? 'the destination is disabled' } } };
  if (dest.paused) return { notSent: { verdict: 'retry', error: { code: 'destination_paused', message: 'the destination is paused' } } };

  const out = input.request ?? { method: 'POST' as const, body: input.event };
  const url = new URL(dest.url);
  if (out.path) {
    const base = url.pathname.replace(/\/$/, '');
    // The URL parser resolves dot segments (also %2e ones): what it resolves to must stay under the
    // destination's path. The transform's output check refuses these first; this guards older outputs.
    url.pathname = base + (out.path.startsWith('/') ? out.path : `/${out.path}`);
    if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) {
      return { notSent: { verdict: 'failed', error: { code: 'path_refused', message: `the transform's path leaves the destination's path ${base || '/'}` } } };
    }
  }
  for (const [k, v] of Object.entries(out.query ?? {})) url.searchParams.set(k, v);

  const body = JSON.stringify(out.body);
  const timestamp = Math.floor(ctx.startedAt.getTime() / 1000);
  const signature = signWebhook(signingSecrets, input.event.id, timestamp, body);

  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(out.headers ?? {})) {
    if (isReservedHeader(k)) continue;
    if (!HEADER_NAME.test(k) || !HEADER_VALUE.test(v)) {
      return {
        notSent: {
          verdict: 'failed',
          error: { code: 'invalid_request_header', message: `the transform's header ${JSON.stringify(k.slice(0, 100))} has an invalid name or value` },
        },
      };
    }
    headers[k.toLowerCase()] = v;
  }
  Object.assign(headers, {
    'content-type': 'application/json',
    'user-agent': `VoiceOI-Hooks/${ctx.version}`,
    'webhook-id': input.event.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
    'x-voiceoi-signature': signature,
    'x-voiceoi-event': input.event.type,
    'x-voiceoi-delivery': input.deliveryId,
    'x-voiceoi-attempt': String(input.attempt),
    // A test send (POST /v1/destinations/:id/test): the receiver can tell it from a real event.
    ...(input.test ? { 'x-voiceoi-test': 'true' } : {}),
  });

  const request = { method: out.method, url, headers, body };
  return { request, record: recordOf(request, []) };
}

/**
 * The prepared request with a connection's headers applied (issue: credentials); their values are
 * secret, so the record redacts them. Always applied to the request prepareRequest returned, so a
 * refreshed token replaces the old one.
 */
export function withCredentials(prepared: PreparedRequest, credentialHeaders: Record<string, string>): PreparedRequest {
  // Connections stored before a name became reserved keep working, without that header.
  const applied = Object.entries(credentialHeaders)
    .filter(([k]) => !isReservedHeader(k))
    .map(([k, v]) => [k.toLowerCase(), v] as const);
  const request = { ...prepared.request, headers: { ...prepared.request.headers, ...Object.fromEntries(applied) } };
  return { request, record: recordOf(request, applied.map(([k]) => k)) };
}

/** The whole body and headers, secrets redacted: the attempt's finish bounds the record (boundRecord). */
function recordOf(request: HttpRequest, secretNames: readonly string[]): RecordedRequest {
  return {
    method: request.method,
    url: request.url.toString(),
    headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, secretNames.includes(k) ? REDACTED : v])),
    body: request.body,
    body_bytes: Buffer.byteLength(request.body),
    body_truncated: false,
  };
}
