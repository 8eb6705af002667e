import { z } from 'zod';
import { eventTypeSchema } from '../events/catalog.ts';
import { ackView } from './streams.schema.ts';

const deliveryStatus = z.enum(['pending', 'delivered', 'retrying', 'failed', 'skipped', 'cancelled']);

// Free-text filters are checked again where they enter the visibility query (src/temporal/visibility-query.ts).
const filterText = z.string().min(1).max(200);

export const listDeliveriesQuery = z.strictObject({
  status: deliveryStatus.optional(),
  destination_id: filterText.optional(),
  event_type: eventTypeSchema.optional(),
  call_id: filterText.optional(),
  lead_id: filterText.optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('Deliveries started at or after this time (RFC 3339)'),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(4096).optional().describe('next_cursor of the previous page, with the same filters'),
});

const deliverySummary = z.object({
  id: z.string(),
  run_id: z.string(),
  status: deliveryStatus,
  workflow_status: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  destination_id: z.string(),
  call_id: z.string().nullable(),
  lead_id: z.string().nullable(),
  started_at: z.string().describe("When Temporal started this run of the delivery's workflow (RFC 3339, the Temporal server's clock): just after the event was accepted, or when a retry or replay started it again"),
  closed_at: z.string().nullable().describe("When this run's workflow closed (delivered, failed, skipped, cancelled, or ended by Temporal); null while it runs. The delivery's own delivered_at / failed_at / cancelled_at name the moment of the outcome itself"),
  erased: z.literal(true).optional().describe('Its call was erased: the status is the one kept at the erasure (GET /v1/calls/:call_id)'),
});

export const deliveryList = z.object({
  items: z.array(deliverySummary),
  // A page can hold fewer rows than `limit` (older runs of retried deliveries are left out): follow
  // next_cursor until it is null.
  next_cursor: z.string().nullable(),
});

export const replayStarted = z.object({ id: z.string(), run_id: z.string(), replay_of: z.string() });
export const cancelRequested = z.object({ id: z.string(), run_id: z.string(), status: z.literal('cancelling') });

export const recoverBody = z.strictObject({
  since: z.iso.datetime({ offset: true }).describe('Replay failed deliveries started at or after this time (RFC 3339)'),
});
export const recoverResult = z.object({
  recovered: z.number().int(),
  deliveries: z.array(z.string()),
  more: z.boolean().describe('true: more than one batch failed; call recover again with the same since'),
});

export const deliveryEvent = z
  .object({
    id: z.string(),
    type: z.string(),
    occurred_at: z.string().describe('As the producer sent it: when the call event happened on the platform, not when it was accepted'),
    account_id: z.string(),
    data: z.record(z.string(), z.unknown()),
  })
  .describe('The event envelope the delivery carries, as it was accepted (read from the delivery workflow\'s input)');

const stringMap = z.record(z.string(), z.string());
const iso = (what: string) => z.string().describe(`${what} (ISO 8601, UTC)`);

const recordedRequest = z.object({
  method: z.string(),
  url: z.string(),
  headers: stringMap.describe('As sent, with credentials and signatures redacted'),
  body: z.string().describe('As sent, up to the record limit; empty when the destination records no bodies'),
  body_bytes: z.number().int().describe('The size of the whole body sent (bytes)'),
  body_truncated: z.boolean(),
  body_sha256: z.string().optional().describe('record_bodies: false only: the SHA-256 (hex) of the body sent'),
  body_recorded: z.literal(false).optional().describe('Present (false) when the destination records no bodies'),
});

const recordedResponse = z.object({
  status: z.number().int(),
  headers: stringMap,
  body: z.string().describe('As received, up to the record limit; empty when the destination records no bodies'),
  body_truncated: z.boolean(),
  body_bytes: z.number().int().optional().describe('record_bodies: false only: the size of the body received (bytes)'),
  body_sha256: z.string().optional(),
  body_recorded: z.literal(false).optional(),
});

const attemptRecord = z.object({
  n: z.number().int().describe('The attempt number, from 1, continuing across retries and replays'),
  started_at: iso('When the worker began the attempt'),
  finished_at: iso('When the worker had its outcome (the answer read, or the error); absent on attempts recorded before this field existed').optional(),
  duration_ms: z.number().describe('How long it took (ms), measured on the worker\'s monotonic clock'),
  request: recordedRequest.optional(),
  response: recordedResponse.optional().describe('Absent when no answer came (see error)'),
  error: z.object({ code: z.string(), message: z.string() }).optional().describe('Why the attempt failed without an answer, or why its answer failed it'),
  verdict: z.enum(['delivered', 'retry', 'failed', 'gone', 'cancelled']),
  retry_after_ms: z.number().optional().describe('The Retry-After the destination asked for (ms), already bounded'),
  run_id: z.string().optional().describe('Set on an outline of an attempt of an earlier run: the full record is in that run'),
  hold: z
    .union([z.object({ max_in_flight: z.number().int() }), z.literal('not_local')])
    .optional()
    .describe('An attempt that sent nothing and is made again outside the schedule'),
});

const outgoingRequest = z.object({
  method: z.enum(['POST', 'PUT', 'PATCH']),
  path: z.string().optional().describe('Appended to the destination URL'),
  query: stringMap.optional(),
  headers: stringMap.optional(),
  body: z.unknown(),
});

const transformOutcome = z
  .object({
    mapping: z.object({ id: z.string(), version: z.number().int() }).nullable(),
    request: outgoingRequest.nullable().describe('What the mapping made; null: the mapping skipped this event'),
    duration_ms: z.number().describe('ms'),
    finished_at: iso('When the transform had its output').optional(),
    logs: z.array(z.string()).optional(),
    error: z.object({ code: z.string(), message: z.string(), line: z.number().optional(), column: z.number().optional() }).optional(),
  })
  .describe('What the mapping produced and logged; absent when the destination has no mapping');

const deliveryDetail = z.object({
  id: z.string(),
  status: deliveryStatus,
  event_id: z.string(),
  event_type: z.string(),
  destination_id: z.string(),
  mapping_id: z.string().optional(),
  mapping_version: z.number().int().optional().describe('The mapping version this delivery runs (pinned at its start)'),
  transform: transformOutcome.optional(),
  attempts: z.array(attemptRecord).describe('Every attempt, oldest first, across the runs of this delivery'),
  next_attempt_at: iso('While retrying: the earliest the next attempt starts (its timer fires at or after it)').optional(),
  reason: z.string().optional().describe('Why it is in its status (failed, skipped, cancelled, or waiting)'),
  accepted_at: iso('When the API accepted the event (before any attempt)'),
  delivered_at: iso("When the receiver's 2xx answer was in: the delivering attempt's finished_at").optional(),
  failed_at: iso("When the delivery was judged failed: the last attempt's finished_at; a transform failure or a run Temporal ended: when that was known").optional(),
  cancelled_at: iso("When it was cancelled: the cancelling attempt's finished_at, the cancel request's handling, or the erasure").optional(),
  workflow: z.object({ id: z.string(), run_id: z.string(), status: z.string().describe('The Temporal status of the run (RUNNING, COMPLETED, …)') }),
  acks: z.array(ackView).describe("Pull destinations: the consumers' acks of this delivery's message"),
});

const erasedDelivery = z
  .object({
    erased: z.literal(true),
    id: z.string(),
    status: z.string(),
    reason: z.string().optional(),
    event_id: z.string(),
    event_type: z.string(),
    destination_id: z.string(),
    accepted_at: z.string().optional(),
    delivered_at: z.string().optional(),
    failed_at: z.string().optional(),
    cancelled_at: z.string().optional(),
    next_attempt_at: z.string().optional(),
    attempts: z.array(
      z.object({ n: z.number().int(), started_at: z.string(), finished_at: z.string().optional(), duration_ms: z.number(), verdict: z.string().optional(), status: z.number().int().optional(), error_code: z.string().optional() }),
    ),
    acks: z.array(ackView),
  })
  .describe('A delivery of an erased call: the summary kept at the erasure, without event data, bodies or headers');

export const deliveryView = z.union([erasedDelivery, deliveryDetail]);
