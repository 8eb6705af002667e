import { z } from 'zod';
import { MAX_JSON_DEPTH } from '../json-depth.ts';

/** One request of POST /v1/events: the body limit of a single envelope. */
export const EVENT_BODY_LIMIT = 1024 * 1024;

/** The most envelopes one POST /v1/events/batch carries. */
export const MAX_BATCH_EVENTS = 100;

/**
 * The body limit of a batch. 100 × the single limit (100 MiB) would let one request hold that much
 * parsed JSON in memory and block the event loop for seconds while it is parsed and validated. Real
 * call events are a few KiB (a call_completed is under 1 KiB; transcripts are the big ones), so
 * 100 typical events fit with room to spare, and a batch of big transcripts is simply split. Each
 * envelope still has the single limit (an item over it is refused on its own, `payload_too_large`).
 */
export const BATCH_BODY_LIMIT = 4 * 1024 * 1024;

const delivery = z.object({ id: z.string(), destination_id: z.string() });

export const ingestResponse = z.object({ event_id: z.string(), deliveries: z.array(delivery) });

// DESIGN.md's form: the body is the array of envelopes itself.
export const batchBody = z
  .array(z.unknown().describe('An event envelope, exactly as the body of POST /v1/events.'))
  .min(1)
  .max(MAX_BATCH_EVENTS)
  .describe(`1 to ${MAX_BATCH_EVENTS} event envelopes; each is validated, deduplicated and delivered on its own.`);

const accepted = z.object({
  index: z.number().int().describe('The position of the envelope in the batch.'),
  event_id: z.string(),
  deliveries: z.array(delivery),
});

const refused = z.object({
  index: z.number().int(),
  event_id: z.string().optional().describe('The envelope\'s id, once it was found valid.'),
  code: z.string(),
  message: z.string(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

export const batchResponse = z.object({
  accepted: z.number().int().describe('How many results are accepted events (duplicates included).'),
  refused: z.number().int().describe('How many results are per-event errors.'),
  results: z.array(z.union([accepted, refused])).describe('One result per envelope, in the order of the batch.'),
});

export type BatchResult = z.infer<typeof batchResponse>['results'][number];

export const batchDescription = `Up to ${MAX_BATCH_EVENTS} events in one request (the body is a JSON array of envelopes: \`[envelope, …]\`).
Each envelope is handled exactly as \`POST /v1/events\` handles it: validated on its own, deduplicated by its \`id\`
(the same id again, in this batch or any other request, answers the first one's deliveries and starts nothing new),
filtered, and delivered by its own workflow per destination. Events of one call (\`data.call_id\`) are accepted in the
order of the batch, so a \`per_call\` destination receives them in that order.

The answer is one \`202\` with a result per envelope, in order: \`{ index, event_id, deliveries }\` for an accepted
event, or \`{ index, code, message }\` for a refused one. **A 202 can hold per-event errors**; the accepted events
are durable whatever happened to the others. Per-event codes:
- \`validation_error\` (with \`issues\`), \`payload_too_large\` (an envelope over 1 MiB), \`reserved_event_type\`: fix the event;
- \`account_mismatch\` (an account key naming another account), \`account_required\` / \`account_not_found\` (admin token: each envelope names its \`account_id\`);
- \`temporal_unavailable\`, \`database_busy\`: temporary, send the event again with the same id;
- \`call_order_held\`: an earlier event of the same call in this batch was refused with a temporary error, and this one
  was not accepted so as not to overtake it; send both again, in order.

The batch itself is refused with \`400 batch_too_large\` (over ${MAX_BATCH_EVENTS} envelopes), \`400 batch_empty\`,
\`400 validation_error\` (a body that is not an array), \`413 payload_too_large\` (a body over ${BATCH_BODY_LIMIT / 1024 / 1024} MiB),
or \`400 json_too_deep\` (the bound of ${MAX_JSON_DEPTH} levels counts the whole body, so an envelope in a batch may nest ${MAX_JSON_DEPTH - 1}).`;

export const eventTypeList = z.object({
  items: z.array(
    z.object({
      type: z.string().describe('The value of `type` in an envelope'),
      description: z.string(),
      schema: z.record(z.string(), z.unknown()).describe("JSON Schema of this type's whole envelope (its `data` is open: extra fields are kept)"),
    }),
  ),
});
