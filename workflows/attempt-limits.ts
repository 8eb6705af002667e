import type { AttemptRecord } from './types.ts';

// Limits that keep one delivery cheap to recover and its history bounded. Pure values and functions:
// the workflow bundle uses them, and so do ingest (src/ingest.ts) and the API.

/** Attempt activities of runs started before `attemptTimeoutMs` existed. */
export const LEGACY_ATTEMPT_TIMEOUT_MS = 90_000;
/** Beyond the destination's own timeout: reading the destination, signing, recording the answer. */
export const ATTEMPT_MARGIN_MS = 5_000;
/** The token client's own bound (src/connections/token-client.ts, timeoutS). */
const TOKEN_REQUEST_MS = 10_000;

/**
 * The start-to-close timeout of one attempt activity. Past it Temporal declares the attempt lost (the
 * worker crashed or stalled) and the workflow records it as `attempt_timed_out` and retries, so it
 * must be longer than anything a healthy attempt does: one request bounded by `timeout_ms`; with a
 * connection, up to two token requests and a second send (a 401 refreshes the token once).
 */
export function attemptTimeoutMs(destination: { timeout_ms: number; connection_id: string | null }): number {
  const sends = destination.connection_id ? 2 * (destination.timeout_ms + TOKEN_REQUEST_MS) : destination.timeout_ms;
  return sends + ATTEMPT_MARGIN_MS;
}

/**
 * A run continues as new after this many attempts, so its history and its result stay far below
 * Temporal's 2 MB payload limit: each attempt records at most 64 KiB of JSON (src/delivery/recorded.ts),
 * 8 of them 512 KiB, next to the transform output (up to 1 MiB) and the outlines of earlier runs.
 */
export const MAX_ATTEMPTS_PER_RUN = 8;
/**
 * ...or once its attempt records reach this size as JSON (characters; escapes are ASCII), whichever
 * comes first: the same bound when every record keeps to 64 KiB, and a bound still when one does not
 * (a worker of an older release, during a rolling upgrade, records up to 64 KiB of raw bytes per body).
 */
export const MAX_RECORDED_PER_RUN = 512 * 1024;
/** An outline's error message is cut to this many characters (at most 6 bytes each once escaped). */
const OUTLINE_MESSAGE_CHARS = 500;

/** What a later run carries of an attempt: everything but the request and the response's headers and body. */
export function outline(a: AttemptRecord, runId: string): AttemptRecord {
  if (a.run_id) return a;
  return {
    n: a.n,
    started_at: a.started_at,
    duration_ms: a.duration_ms,
    ...(a.finished_at ? { finished_at: a.finished_at } : {}),
    verdict: a.verdict,
    ...(a.response ? { response: { status: a.response.status, headers: {}, body: '', body_truncated: true } } : {}),
    ...(a.error ? { error: { code: a.error.code, message: a.error.message.slice(0, OUTLINE_MESSAGE_CHARS) } } : {}),
    ...(a.retry_after_ms !== undefined ? { retry_after_ms: a.retry_after_ms } : {}),
    run_id: runId,
  };
}
