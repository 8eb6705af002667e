// Contracts shared by the delivery workflow, its activities and the API. Plain data only: every
// value here is recorded in the workflow history, which is the audit log.

export type DeliveryStatus = 'pending' | 'delivered' | 'retrying' | 'failed' | 'skipped' | 'cancelled';

export interface DeliveryEvent {
  id: string;
  type: string;
  occurred_at: string;
  account_id: string;
  /** call_id is set on every call event; operational events (`hook.*`) have none. */
  data: { call_id?: string; lead_id?: string; [key: string]: unknown };
}

export interface DeliveryInput {
  deliveryId: string;
  accountId: string;
  destinationId: string;
  event: DeliveryEvent;
  /** When ingest accepted the event (ISO): the start of the propagation-latency clock. */
  acceptedAt: string;
  /** Seconds to wait before each attempt (the first is usually 0), pinned when the delivery starts. */
  retryScheduleS: number[];
  /** The mapping version pinned when the delivery started (a replay keeps the original's); null: none. */
  mapping?: { id: string; version: number } | null;
  /** Set by a replay: the attempt numbering continues after the original run's attempts. */
  replayOf?: { previousAttempts: number };
  /**
   * How long one attempt activity may run before Temporal declares it lost (a crashed or stalled
   * worker), pinned at start from the destination (workflows/attempt-limits.ts). Absent on inputs
   * written before it existed: those runs keep the old fixed 90 s.
   */
  attemptTimeoutMs?: number;
  /** Set when an earlier run of this delivery continued as new (history bound, workflows/attempt-limits.ts). */
  continued?: ContinuedDelivery;
  /** The destination's delivery controls, pinned at start (absent: none, and on older inputs). */
  gates?: DeliveryGates;
  /** A test send (POST /v1/destinations/:id/test): attempts carry X-VoiceOI-Test and its failure alerts no one. */
  test?: boolean;
}

/** What a run hands to the next one when it continues as new. */
export interface ContinuedDelivery {
  /** The schedule position of the next attempt (1-based); its number is `replayOf` offset + this. */
  next: number;
  /** Retry-After of the last attempt, still owed by the next wait. */
  retryAfterMs?: number;
  /** Outlines of every attempt of the earlier runs, oldest first (`run_id` names the run holding the full record). */
  earlier: AttemptRecord[];
}

/** What a transform decided; absent when the destination has no mapping (the envelope is sent). */
export interface OutgoingRequest {
  method: 'POST' | 'PUT' | 'PATCH';
  /** Appended to the destination URL. */
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body: unknown;
}

export interface TransformOutcome {
  mapping: { id: string; version: number } | null;
  /** null: the mapping skipped this event. */
  request: OutgoingRequest | null;
  duration_ms: number;
  /** When the worker had the outcome (absent when the workflow built the request itself, and on older records). */
  finished_at?: string;
  logs?: string[];
  error?: { code: string; message: string; line?: number; column?: number };
}

/** What a delivery without a mapping sends: the event envelope as it is (no sandbox, nothing to record). */
export const untransformed = (event: DeliveryEvent): TransformOutcome => ({ mapping: null, request: { method: 'POST', body: event }, duration_ms: 0 });

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  body_bytes: number;
  body_truncated: boolean;
  /** Set when the destination records no bodies (record_bodies: false): `body` is empty. */
  body_sha256?: string;
  body_recorded?: false;
}

export interface RecordedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  body_truncated: boolean;
  /** Set when the destination records no bodies (record_bodies: false): `body` is empty. */
  body_bytes?: number;
  body_sha256?: string;
  body_recorded?: false;
}

export type AttemptVerdict =
  | 'delivered' // 2xx
  | 'retry' // network error, timeout, 408, 425, 429, 5xx, destination paused
  | 'failed' // other 4xx, refused address, bad config: retrying cannot help
  | 'gone' // 410: the destination is disabled
  | 'cancelled'; // destination deleted or disabled

export interface AttemptRecord {
  n: number;
  /** When the worker began the attempt (its clock, before reading the destination and signing); for an attempt its worker lost, when the workflow asked for it. */
  started_at: string;
  /** started_at to finished_at, on the worker's monotonic clock (so it may differ from their difference by a millisecond). */
  duration_ms: number;
  /**
   * When the worker had the outcome: the answer's status, headers and (bounded) body read, or the
   * error. Absent on records written before it existed; an attempt lost by its worker carries the
   * moment the workflow learnt it was lost.
   */
  finished_at?: string;
  request?: RecordedRequest;
  response?: RecordedResponse;
  error?: { code: string; message: string };
  verdict: AttemptVerdict;
  /** Parsed from Retry-After, in ms, already bounded. */
  retry_after_ms?: number;
  /**
   * Set on an outline of an attempt made by an earlier run of a delivery that continued as new: the
   * request and response bodies and headers are left out, and the full record is in that run's history.
   */
  run_id?: string;
  /**
   * Set on an attempt that sent nothing and is to be made again, outside the schedule (voiceoi-v5 runs;
   * the workflow drops the record): `{max_in_flight}`, the destination had that many attempts in flight
   * and the delivery now waits for a slot; `not_local`, a slow destination's attempt is not run inside
   * a workflow task (src/delivery/local-attempts.ts).
   */
  hold?: { max_in_flight: number } | 'not_local';
}

export interface AttemptInput {
  /** The account the delivery belongs to: the worker refuses a destination of any other account. */
  accountId: string;
  deliveryId: string;
  destinationId: string;
  event: DeliveryEvent;
  attempt: number;
  request: OutgoingRequest | null;
  /** Sends X-VoiceOI-Test: true (DeliveryInput.test). */
  test?: boolean;
  /** The rate-limit permit's moment (epoch ms): the attempt waits in its worker until then before it sends. */
  sendAt?: number;
  /** voiceoi-v5 runs: the attempt takes one of its destination's max_in_flight slots; waiters are served by acceptance time. */
  slot?: { acceptedAt: string };
}

/** What the end-of-delivery activity reports as hook.delivery_failed (src/events/operational.ts). */
export interface DeliveryEndedInput {
  accountId: string;
  deliveryId: string;
  destinationId: string;
  eventId: string;
  eventType: string;
  reason: string;
  attempts: number;
  /** The last attempt was answered 410 Gone, which disabled the destination. */
  gone: boolean;
}

export interface DeliveryState {
  id: string;
  status: DeliveryStatus;
  event_id: string;
  event_type: string;
  destination_id: string;
  account_id: string;
  mapping?: { id: string; version: number } | null;
  transform?: TransformOutcome;
  attempts: AttemptRecord[];
  /** While retrying: the earliest the next attempt starts (its timer fires at or after it; a worker then picks it up). */
  next_attempt_at?: string;
  reason?: string;
  /** When the API accepted the event (the dedupe record's received_at): before any attempt. */
  accepted_at: string;
  /** The delivering attempt's finished_at: the receiver's 2xx answer was in. */
  delivered_at?: string;
  /** When the delivery was judged failed: the last attempt's finished_at, or the moment the workflow decided (a transform failure, a lost run). */
  failed_at?: string;
  /** When the delivery was cancelled: the cancelling attempt's finished_at, or the moment the workflow took the cancel request. */
  cancelled_at?: string;
}

/**
 * The gate workflows a delivery waits on before its attempts (workflows/delivery-gates.ts). Their ids
 * are made by the API (src/temporal/gates.ts): a call id is tenant input and never shapes an id raw.
 */
export interface DeliveryGates {
  /** `ordering: "per_call"`: the call's sequencer (workflows/call-sequencer.ts); it gives one turn at a time. */
  sequencer?: string;
  /** `rate_limit_per_s`: the destination's limiter (workflows/rate-limiter.ts), which grants a permit per attempt. */
  rateLimit?: { limiter: string; perS: number };
}

/** What a gate signals to a delivery waiting on it. */
export type GateMessage =
  /** A permit for one attempt, named by the key the delivery asked with. */
  | { kind: 'permit'; key: string; sendAt?: number }
  /** The delivery's turn in its call (`run`: the first run id of the delivery it is meant for). */
  | { kind: 'turn'; run: string }
  /** The delivery is queued behind the delivery `ahead` in its call. */
  | { kind: 'behind'; run: string; ahead: string };

/** A request for a rate-limit permit. */
export interface PermitRequest {
  /** Unique per permit asked: `<run id>/<n>`; a repeat of a known key is ignored. */
  key: string;
  deliveryId: string;
  /** The delivery's pinned rate; the limiter follows the latest rate it was asked with. */
  perS: number;
}

/** A place in a call's sequence: a delivery, by id and by the first run id of its workflow. */
export interface TurnRequest {
  deliveryId: string;
  run: string;
}

/** The failure type of a transform that could not run (the sandbox busy or closing): retried until it runs. */
export const SANDBOX_BUSY_FAILURE = 'SandboxBusy';
