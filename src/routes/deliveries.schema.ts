import { z } from 'zod';
import { eventTypeSchema } from '../events/catalog.ts';

const deliveryStatus = z.enum(['pending', 'delivered', 'retrying', 'failed', 'skipped', 'cancelled']);

// Free-text filters are checked again where they enter the visibility query (src/temporal/visibility-query.ts).
const filterText = z.string().min(1).max(200);

export const listDeliveriesQuery = z.object({
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

export const recoverBody = z.object({
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
