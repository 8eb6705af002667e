import { z } from 'zod';

// The event catalog is the contract with the VoiceOI platform (see DESIGN.md, "Event catalog").
// Data objects are open (.passthrough-like `looseObject`): the platform may add fields before this
// service learns about them, and they must reach the BPO untouched. The envelope around them is
// closed: an unknown top-level field is a producer's mistake, refused with its name (issue 23).

const rfc3339 = z.iso.datetime({ offset: true });
const id = z.string().min(1).max(200);

const callRef = {
  call_id: id,
  lead_id: id.optional(),
  campaign_id: id.optional(),
};

const agent = z.looseObject({
  kind: z.enum(['ai', 'human']),
  id: id.optional(),
  name: z.string().max(200).optional(),
});

const transferTarget = z.looseObject({
  kind: z.enum(['queue', 'number', 'agent']),
  value: z.string().min(1).max(200),
});

const callEventDataSchemas = {
  call_started: z.looseObject({
    ...callRef,
    direction: z.enum(['inbound', 'outbound']),
    from: z.string().min(1).max(64),
    to: z.string().min(1).max(64),
    agent,
    started_at: rfc3339,
  }),
  voice_detected: z.looseObject({
    ...callRef,
    channel: z.enum(['caller', 'agent']),
    at_s: z.number().nonnegative(),
  }),
  handover_started: z.looseObject({
    ...callRef,
    reason: z.string().min(1).max(2000),
    to_agent: agent,
  }),
  live_transfer_initiated: z.looseObject({
    ...callRef,
    target: transferTarget,
    reason: z.string().max(2000).optional(),
  }),
  transfer_success: z.looseObject({
    ...callRef,
    target: transferTarget,
    wait_s: z.number().nonnegative(),
  }),
  qualification_threshold_met: z.looseObject({
    ...callRef,
    score: z.number(),
    threshold: z.number(),
    criteria: z.array(z.string().max(500)).max(200),
  }),
  call_disposition_set: z.looseObject({
    ...callRef,
    disposition: z.string().min(1).max(200),
    notes: z.string().max(20000).optional(),
  }),
  call_completed: z.looseObject({
    ...callRef,
    duration_s: z.number().nonnegative(),
    cost: z.looseObject({ amount: z.number().nonnegative(), currency: z.string().length(3) }),
    sentiment: z.looseObject({
      label: z.enum(['positive', 'neutral', 'negative', 'mixed']),
      score: z.number().min(-1).max(1),
    }),
    summary: z.string().max(100_000),
    disposition: z.string().min(1).max(200),
    recording_url: z.url().optional(),
  }),
  transcript_completed: z.looseObject({
    ...callRef,
    transcript: z
      .array(
        z.looseObject({
          speaker: z.string().min(1).max(100),
          text: z.string().max(100_000),
          start_s: z.number().nonnegative(),
          end_s: z.number().nonnegative(),
        }),
      )
      .max(20_000),
    summary: z.string().max(100_000),
    language: z.string().min(2).max(35),
  }),
} as const;

// Operational events (issue 13): emitted by the service itself about its own deliveries, never
// accepted from a producer (src/ingest.ts). They carry no call_id: they are about no call.
const operationalEventDataSchemas = {
  'hook.delivery_failed': z.looseObject({
    delivery_id: id,
    destination_id: id,
    event_id: id,
    event_type: id,
    reason: z.string().max(4000),
    attempts: z.number().nonnegative(),
  }),
  'hook.destination_disabled': z.looseObject({
    destination_id: id,
    reason: z.string().max(4000),
  }),
  'hook.connection_needs_reauth': z.looseObject({
    connection_id: id,
    reason: z.string().max(4000),
  }),
  'hook.connection_certificate_expiring': z.looseObject({
    connection_id: id,
    /** Which of the connection's TLS certificates: `client_certificate` or `ca_certificates`. */
    field: z.enum(['client_certificate', 'ca_certificates']),
    subject: z.string().max(2000),
    fingerprint: z.string().max(200),
    not_after: rfc3339,
    days_left: z.number().nonnegative(),
  }),
} as const;

export const eventDataSchemas = { ...callEventDataSchemas, ...operationalEventDataSchemas };

export type EventType = keyof typeof eventDataSchemas;
export type OperationalEventType = keyof typeof operationalEventDataSchemas;
/** Sent by the service about itself; a destination subscribes to each by name (`*` is the call events). */
export const isOperationalEventType = (type: string): type is OperationalEventType => type.startsWith('hook.');
export const eventTypes = Object.keys(eventDataSchemas) as [EventType, ...EventType[]];
export const eventTypeSchema = z.enum(eventTypes);

export const eventDescriptions: Record<EventType, string> = {
  call_started: 'A call connects.',
  voice_detected: 'The first human voice is heard on the line.',
  handover_started: 'The AI agent hands the call to a human agent.',
  live_transfer_initiated: 'A live transfer begins.',
  transfer_success: 'The live transfer connects.',
  qualification_threshold_met: 'Lead scoring crosses the campaign threshold.',
  call_disposition_set: 'A disposition is set on the call.',
  call_completed: 'The call ends; carries the post-call payload.',
  transcript_completed: 'The full transcript of the call is ready.',
  'hook.delivery_failed': 'A delivery failed for good (its retries are spent, or the destination refused it). Not emitted for the failure of an operational event.',
  'hook.destination_disabled': 'A destination was disabled automatically (it answered 410 Gone, or failed every delivery for days).',
  'hook.connection_certificate_expiring': "A certificate of a connection's TLS (its client certificate or a CA it trusts) expires within 14 days: replace it before deliveries fail. Sent once a day per certificate.",
  'hook.connection_needs_reauth': 'A connection needs re-authorization (the provider refused its refresh token); its deliveries fail until it is connected again.',
};

/**
 * The event id becomes the `webhook-id` header of every delivery and part of the delivery id (a
 * workflow id and a URL path segment), so it is limited to characters that are safe in all three.
 */
export const MAX_EVENT_ID_LENGTH = 200;
const EVENT_ID_PATTERN = new RegExp(`^[A-Za-z0-9._:~-]{1,${MAX_EVENT_ID_LENGTH}}$`);

const eventId = z
  .string()
  .regex(EVENT_ID_PATTERN, {
    error: (iss) =>
      typeof iss.input === 'string' && (iss.input.length === 0 || iss.input.length > MAX_EVENT_ID_LENGTH)
        ? `must be 1 to ${MAX_EVENT_ID_LENGTH} characters long (got ${iss.input.length})`
        : 'may contain only letters A-Z and a-z, digits and . _ : ~ - (it is sent as the webhook-id header)',
  })
  .describe("The producer's idempotency key: the same id again starts no new delivery. 1–200 of A-Z a-z 0-9 . _ : ~ -");

const envelopeBase = {
  id: eventId,
  occurred_at: rfc3339,
  account_id: id.optional(),
};

/** One strict envelope per type, so an error names the field of the right `data` schema. */
export const eventEnvelopeSchema = z.discriminatedUnion(
  'type',
  eventTypes.map((type) =>
    z.strictObject({ ...envelopeBase, type: z.literal(type), data: eventDataSchemas[type] }),
  ) as unknown as [ReturnType<typeof envelopeFor<'call_started'>>, ...ReturnType<typeof envelopeFor<EventType>>[]],
);

function envelopeFor<T extends EventType>(type: T) {
  return z.strictObject({ ...envelopeBase, type: z.literal(type), data: eventDataSchemas[type] });
}

export type EventEnvelope = {
  [T in EventType]: {
    id: string;
    type: T;
    occurred_at: string;
    account_id?: string;
    data: z.infer<(typeof eventDataSchemas)[T]>;
  };
}[EventType];

/** JSON Schema for one event type's full envelope, for GET /v1/event-types. */
export function envelopeJsonSchema(type: EventType): Record<string, unknown> {
  return z.toJSONSchema(envelopeFor(type), { io: 'input', unrepresentable: 'any' });
}
