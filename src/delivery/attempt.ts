import { request, errors as undiciErrors, type Dispatcher } from 'undici';
import type { AttemptInput, AttemptRecord, RecordedRequest, RecordedResponse } from '../../workflows/types.ts';
import type { DestinationStore } from '../store/destinations.ts';
import { verdictForStatus } from './classify.ts';
import { refuseLiteral, RefusedAddressError } from './http-client.ts';
import type { NetworkPolicy } from './network-policy.ts';
import { parseRetryAfter } from './retry-after.ts';
import { signWebhook } from './signing.ts';

export const RECORDED_BODY_LIMIT = 64 * 1024;
const REDACTED = '[redacted]';

/** Applies a destination's connection (issue: credentials). Header values it names are secret. */
export interface CredentialProvider {
  headersFor(
    connectionId: string,
    accountId: string,
    opts?: { forceRefresh?: boolean },
  ): Promise<{ headers: Record<string, string>; oauth2: boolean }>;
}

export interface AttemptDeps {
  destinations: DestinationStore;
  agent: Dispatcher;
  policy: NetworkPolicy;
  version: string;
  credentials?: CredentialProvider;
  onOutcome?: (record: AttemptRecord, ctx: { destinationId: string; acceptedAt?: string }) => void;
}

// Headers a mapping may not set: they carry the signature and the delivery's identity.
const RESERVED = new Set([
  'webhook-id', 'webhook-timestamp', 'webhook-signature', 'x-voiceoi-signature', 'x-voiceoi-event',
  'x-voiceoi-delivery', 'x-voiceoi-attempt', 'content-length', 'host', 'transfer-encoding', 'connection',
]);

function excerpt(text: string): { body: string; truncated: boolean } {
  const buf = Buffer.from(text);
  if (buf.length <= RECORDED_BODY_LIMIT) return { body: text, truncated: false };
  return { body: buf.subarray(0, RECORDED_BODY_LIMIT).toString('utf8'), truncated: true };
}

async function readExcerpt(body: Dispatcher.ResponseData['body']): Promise<{ body: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    chunks.push(buf);
    size += buf.length;
    if (size > RECORDED_BODY_LIMIT) {
      truncated = true;
      break;
    }
  }
  if (truncated) body.destroy();
  const all = Buffer.concat(chunks);
  return { body: all.subarray(0, RECORDED_BODY_LIMIT).toString('utf8'), truncated };
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function errorOf(err: unknown): { code: string; message: string } {
  if (err instanceof RefusedAddressError) return { code: 'address_refused', message: err.message };
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof RefusedAddressError) return { code: 'address_refused', message: cause.message };
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || (err as Error).name === 'TimeoutError')
    return { code: 'timeout', message: 'the destination did not answer within the timeout' };
  const code = (err as { code?: string }).code ?? (cause as { code?: string } | undefined)?.code;
  const message = (err as Error).message || String(err);
  return { code: code ? `network_${code.toLowerCase()}` : 'network_error', message };
}

/** One HTTP attempt of one delivery: build, sign, send, classify, and record it (secrets redacted). */
export async function performAttempt(deps: AttemptDeps, input: AttemptInput): Promise<AttemptRecord> {
  const startedAt = new Date();
  const t0 = performance.now();
  const base = { n: input.attempt, started_at: startedAt.toISOString() };
  const finish = (rest: Omit<AttemptRecord, 'n' | 'started_at' | 'duration_ms'>): AttemptRecord => {
    const record = { ...base, duration_ms: Math.round((performance.now() - t0) * 10) / 10, ...rest };
    deps.onOutcome?.(record, { destinationId: input.destinationId });
    return record;
  };

  const found = await deps.destinations.getForAttempt(input.destinationId, startedAt);
  if (!found) return finish({ verdict: 'cancelled', error: { code: 'destination_deleted', message: 'the destination was deleted' } });
  const { destination: dest, signingSecrets } = found;
  if (!dest.enabled)
    return finish({ verdict: 'cancelled', error: { code: 'destination_disabled', message: dest.disabled_reason ?? 'the destination is disabled' } });
  if (dest.paused) return finish({ verdict: 'retry', error: { code: 'destination_paused', message: 'the destination is paused' } });

  const out = input.request ?? { method: 'POST' as const, body: input.event };
  const url = new URL(dest.url);
  if (out.path) url.pathname = url.pathname.replace(/\/$/, '') + (out.path.startsWith('/') ? out.path : `/${out.path}`);
  for (const [k, v] of Object.entries(out.query ?? {})) url.searchParams.set(k, v);

  const body = JSON.stringify(out.body);
  const timestamp = Math.floor(startedAt.getTime() / 1000);
  const signature = signWebhook(signingSecrets, input.event.id, timestamp, body);

  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(out.headers ?? {})) if (!RESERVED.has(k.toLowerCase())) headers[k.toLowerCase()] = v;
  Object.assign(headers, {
    'content-type': 'application/json',
    'user-agent': `VoiceOI-Hooks/${deps.version}`,
    'webhook-id': input.event.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
    'x-voiceoi-signature': signature,
    'x-voiceoi-event': input.event.type,
    'x-voiceoi-delivery': input.deliveryId,
    'x-voiceoi-attempt': String(input.attempt),
  });

  const bodyExcerpt = excerpt(body);
  const recorded = (secretNames: string[]): RecordedRequest => ({
    method: out.method,
    url: url.toString(),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, secretNames.includes(k) ? REDACTED : v])),
    body: bodyExcerpt.body,
    body_bytes: Buffer.byteLength(body),
    body_truncated: bodyExcerpt.truncated,
  });

  const refused = refuseLiteral(deps.policy, url);
  if (refused) return finish({ verdict: 'failed', request: recorded([]), error: { code: 'address_refused', message: refused } });

  let secretNames: string[] = [];
  let oauth2 = false;
  const applyCredentials = async (forceRefresh: boolean) => {
    if (!dest.connection_id || !deps.credentials) return;
    const creds = await deps.credentials.headersFor(dest.connection_id, dest.account_id, { forceRefresh });
    oauth2 = creds.oauth2;
    for (const [k, v] of Object.entries(creds.headers)) headers[k.toLowerCase()] = v;
    secretNames = Object.keys(creds.headers).map((k) => k.toLowerCase());
  };

  try {
    await applyCredentials(false);
  } catch (err) {
    const e = err as { code?: string; message?: string; retryable?: boolean };
    return finish({
      verdict: e.retryable === false ? 'failed' : 'retry',
      request: recorded(secretNames),
      error: { code: e.code ?? 'credentials_error', message: e.message ?? String(err) },
    });
  }

  const send = () =>
    request(url, {
      method: out.method,
      headers,
      body,
      dispatcher: deps.agent,
      headersTimeout: dest.timeout_ms,
      bodyTimeout: dest.timeout_ms,
      signal: AbortSignal.timeout(dest.timeout_ms),
    });

  try {
    let res = await send();
    if (res.statusCode === 401 && oauth2) {
      // The token may have been revoked early: refresh once and try again within this attempt.
      await res.body.dump();
      await applyCredentials(true);
      res = await send();
    }
    const resHeaders = flatHeaders(res.headers);
    const resBody = await readExcerpt(res.body);
    const response: RecordedResponse = { status: res.statusCode, headers: resHeaders, body: resBody.body, body_truncated: resBody.truncated };
    const verdict = verdictForStatus(res.statusCode);
    if (verdict === 'gone') {
      await deps.destinations.update(dest.account_id, dest.id, {
        enabled: false,
        disabled_reason: `the destination answered 410 Gone at ${new Date().toISOString()}`,
      });
    }
    return finish({
      verdict,
      request: recorded(secretNames),
      response,
      retry_after_ms: verdict === 'retry' ? parseRetryAfter(resHeaders['retry-after']) : undefined,
      error: res.statusCode >= 300 && res.statusCode < 400 ? { code: 'redirect_not_followed', message: `HTTP ${res.statusCode}: redirects are not followed; set the final URL on the destination` } : undefined,
    });
  } catch (err) {
    const error = errorOf(err);
    return finish({ verdict: error.code === 'address_refused' ? 'failed' : 'retry', request: recorded(secretNames), error });
  }
}
