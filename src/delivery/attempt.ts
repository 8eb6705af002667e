import { request, errors as undiciErrors } from 'undici';
import { HEADER_NAME, HEADER_VALUE, isReservedHeader } from '../../sandboxes/reserved-headers.ts';
import type { AttemptInput, AttemptRecord, RecordedRequest, RecordedResponse } from '../../workflows/types.ts';
import type { DestinationStore } from '../store/destinations.ts';
import { verdictForStatus } from './classify.ts';
import { refuseLiteral, RefusedAddressError, type DeliveryAgent } from './http-client.ts';
import type { NetworkPolicy } from './network-policy.ts';
import { parseRetryAfter } from './retry-after.ts';
import { excerpt, flatHeaders, readExcerpt } from './recorded.ts';
import { signWebhook } from './signing.ts';

const REDACTED = '[redacted]';

/** Applies a destination's connection (issue: credentials). Header values it names are secret. */
export interface CredentialProvider {
  headersFor(
    connectionId: string,
    accountId: string,
    /** allowedNetworks: the account's operator-opened networks, for a token URL's network check. */
    opts?: { forceRefresh?: boolean; allowedNetworks?: readonly string[] },
  ): Promise<{ headers: Record<string, string>; oauth2: boolean }>;
}

export interface AttemptDeps {
  destinations: DestinationStore;
  agent: DeliveryAgent;
  policy: NetworkPolicy;
  version: string;
  credentials?: CredentialProvider;
  onOutcome?: (record: AttemptRecord, ctx: { destinationId: string; acceptedAt?: string }) => void;
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
  // The input names the account; the destination must be one of its own, or the attempt would sign
  // and send one account's event under another's secret (issue 10). Inputs scheduled before
  // accountId existed carry the account on the event, which ingest set from the API key.
  const accountId = input.accountId ?? input.event.account_id;
  if (dest.account_id !== accountId || input.event.account_id !== accountId) {
    return finish({
      verdict: 'failed',
      error: { code: 'destination_not_in_account', message: `destination ${dest.id} does not belong to account ${accountId}; nothing was sent` },
    });
  }
  if (!dest.enabled)
    return finish({ verdict: 'cancelled', error: { code: 'destination_disabled', message: dest.disabled_reason ?? 'the destination is disabled' } });
  if (dest.paused) return finish({ verdict: 'retry', error: { code: 'destination_paused', message: 'the destination is paused' } });

  const out = input.request ?? { method: 'POST' as const, body: input.event };
  const url = new URL(dest.url);
  if (out.path) {
    const base = url.pathname.replace(/\/$/, '');
    // The URL parser resolves dot segments (also %2e ones): what it resolves to must stay under the
    // destination's path. The transform's output check refuses these first; this guards older outputs.
    url.pathname = base + (out.path.startsWith('/') ? out.path : `/${out.path}`);
    if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) {
      return finish({ verdict: 'failed', error: { code: 'path_refused', message: `the transform's path leaves the destination's path ${base || '/'}` } });
    }
  }
  for (const [k, v] of Object.entries(out.query ?? {})) url.searchParams.set(k, v);

  const body = JSON.stringify(out.body);
  const timestamp = Math.floor(startedAt.getTime() / 1000);
  const signature = signWebhook(signingSecrets, input.event.id, timestamp, body);

  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(out.headers ?? {})) {
    if (isReservedHeader(k)) continue;
    if (!HEADER_NAME.test(k) || !HEADER_VALUE.test(v)) {
      return finish({ verdict: 'failed', error: { code: 'invalid_request_header', message: `the transform's header ${JSON.stringify(k.slice(0, 100))} has an invalid name or value` } });
    }
    headers[k.toLowerCase()] = v;
  }
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
    // A test send (POST /v1/destinations/:id/test): the receiver can tell it from a real event.
    ...(input.test ? { 'x-voiceoi-test': 'true' } : {}),
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

  const refused = refuseLiteral(deps.policy, url, found.allowedNetworks);
  if (refused) return finish({ verdict: 'failed', request: recorded([]), error: { code: 'address_refused', message: refused } });

  let secretNames: string[] = [];
  let oauth2 = false;
  const applyCredentials = async (forceRefresh: boolean) => {
    if (!dest.connection_id || !deps.credentials) return;
    const creds = await deps.credentials.headersFor(dest.connection_id, accountId, { forceRefresh, allowedNetworks: found.allowedNetworks });
    oauth2 = creds.oauth2;
    // Connections stored before a name became reserved keep working, without that header.
    const applied = Object.entries(creds.headers).filter(([k]) => !isReservedHeader(k));
    for (const [k, v] of applied) headers[k.toLowerCase()] = v;
    secretNames = applied.map(([k]) => k.toLowerCase());
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
      dispatcher: deps.agent.forAccount(found.allowedNetworks),
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
