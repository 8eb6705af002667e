import { errors as undiciErrors } from 'undici';
import type { AttemptVerdict, RecordedResponse } from '../../workflows/types.ts';
import { RefusedAddressError } from './http-client.ts';
import { parseRetryAfter } from './retry-after.ts';
import { tlsFailureOf } from './tls-errors.ts';

/** DESIGN.md "Delivery semantics": which HTTP answers are retried. */
function verdictForStatus(status: number): AttemptVerdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'gone';
  if (status === 408 || status === 425 || status === 429 || status >= 500) return 'retry';
  return 'failed';
}

export interface Classified {
  verdict: AttemptVerdict;
  /** Only on a retried answer. */
  retry_after_ms?: number;
  error?: { code: string; message: string };
}

/** What a sent request came to: the destination's answer, or what send() threw. No I/O. */
export function classify(outcome: { response: RecordedResponse } | { error: unknown }, now = Date.now()): Classified {
  if ('error' in outcome) {
    const error = errorOf(outcome.error);
    return { verdict: error.code === 'address_refused' || error.code.startsWith('tls_') ? 'failed' : 'retry', error };
  }
  const { status, headers } = outcome.response;
  const verdict = verdictForStatus(status);
  return {
    verdict,
    retry_after_ms: verdict === 'retry' ? parseRetryAfter(headers['retry-after'], now) : undefined,
    error: status >= 300 && status < 400 ? { code: 'redirect_not_followed', message: `HTTP ${status}: redirects are not followed; set the final URL on the destination` } : undefined,
  };
}

/** A connection could not supply its credentials: retried unless the provider says retrying cannot help. */
export function classifyCredentialsError(err: unknown): Classified {
  const e = err as { code?: string; message?: string; retryable?: boolean };
  return { verdict: e.retryable === false ? 'failed' : 'retry', error: { code: e.code ?? 'credentials_error', message: e.message ?? String(err) } };
}

function errorOf(err: unknown): { code: string; message: string } {
  if (err instanceof RefusedAddressError) return { code: 'address_refused', message: err.message };
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof RefusedAddressError) return { code: 'address_refused', message: cause.message };
  const tls = tlsFailureOf(err);
  if (tls) return tls;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || (err as Error).name === 'TimeoutError')
    return { code: 'timeout', message: 'the destination did not answer within the timeout' };
  const code = (err as { code?: string }).code ?? (cause as { code?: string } | undefined)?.code;
  const message = (err as Error).message || String(err);
  return { code: code ? `network_${code.toLowerCase()}` : 'network_error', message };
}
