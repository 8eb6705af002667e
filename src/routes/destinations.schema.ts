import { z } from 'zod';
import { signatureSchemes } from '../delivery/signing.ts';
import { eventTypes } from '../events/catalog.ts';
import { changesSomething, httpUrl } from './common.schema.ts';

/** A filter is one expression, not a mapping: a few lines at most (characters). */
const MAX_FILTER_CHARS = 4096;

const eventTypeOrAll = z.enum([...eventTypes, '*']);

const url = httpUrl.refine((u) => !URL.canParse(u) || (!new URL(u).username && !new URL(u).password), {
    message: 'must not carry credentials; use a connection (headers, basic or OAuth2) instead',
  });

const MAX_STREAM_ORIGINS = 20;

/** A browser origin as the Origin header sends it: scheme, host and port, nothing else. */
const origin = z
  .string()
  .max(300)
  .refine((o) => URL.canParse(o) && /^https?:$/.test(new URL(o).protocol) && new URL(o).origin === o, {
    message: 'must be an origin such as https://wallboard.example.com (scheme, host and port; no path or trailing slash)',
  });

const fields = {
  url,
  description: z.string().max(500).nullable(),
  event_types: z.array(eventTypeOrAll).min(1).max(eventTypes.length + 1),
  mapping_id: z.string().min(1).nullable(),
  mapping_version: z
    .number()
    .int()
    .min(1)
    .nullable()
    .describe("A saved version of mapping_id that every delivery runs; null = the mapping's current version when each event arrives. Cleared with mapping_id, and when mapping_id changes without a version."),
  connection_id: z.string().min(1).nullable(),
  enabled: z.boolean(),
  timeout_ms: z.number().int().min(100).max(60_000),
  // Seconds before each attempt; up to 50 attempts spread over at most 7 days per wait.
  retry_schedule_s: z.array(z.number().min(0).max(7 * 86_400)).min(1).max(50).nullable(),
  rate_limit_per_s: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .nullable()
    .describe('At most this many attempts start per second to this destination, across all workers; null = unlimited.'),
  ordering: z
    .enum(['none', 'per_call'])
    .describe('per_call: deliveries of events with the same data.call_id reach this destination one at a time, in acceptance order.'),
  max_in_flight: z
    .number()
    .int()
    .min(1)
    .max(1_000)
    .describe('At most this many attempts to this destination are in flight at once, across all workers; later deliveries wait, in acceptance order, for a free slot. Default 20.'),
  filter: z
    .string()
    .min(1)
    .max(MAX_FILTER_CHARS)
    .nullable()
    .describe('A JSONata expression evaluated against the event at ingest; an event for which it is not truthy starts no delivery here. null = every subscribed event.'),
  signature_scheme: z
    .enum(signatureSchemes)
    .describe('hmac-sha256 (default): `v1,` signatures with a shared whsec_ secret. ed25519: `v1a,` signatures that receivers verify with signing_public_key alone; the private key is never shown. Changed with rotate-secret, so both keys sign during the grace.'),
  mode: z
    .enum(['push', 'pull'])
    .describe('push (default): each delivery is an HTTP request to url. pull: each delivery becomes a message the consumer reads from GET /v1/destinations/:id/stream or /messages; no url.'),
  stream_origins: z
    .array(origin)
    .max(MAX_STREAM_ORIGINS)
    .nullable()
    .describe('Pull destinations: browser origins (https://wallboard.example.com) whose pages may read the stream (CORS); null or [] = none.'),
  record_bodies: z
    .boolean()
    .describe('false: attempt records keep the request and response bodies\' sizes and SHA-256 digests but never the bodies (for destinations that carry card data). Default true.'),
};

const destinationBody = z.strictObject({
  url: fields.url.optional(),
  event_types: fields.event_types,
  description: fields.description.optional(),
  mapping_id: fields.mapping_id.optional(),
  mapping_version: fields.mapping_version.optional(),
  connection_id: fields.connection_id.optional(),
  enabled: fields.enabled.optional(),
  timeout_ms: fields.timeout_ms.optional(),
  retry_schedule_s: fields.retry_schedule_s.optional(),
  rate_limit_per_s: fields.rate_limit_per_s.optional(),
  ordering: fields.ordering.optional(),
  filter: fields.filter.optional(),
  signature_scheme: fields.signature_scheme.optional(),
  max_in_flight: fields.max_in_flight.optional(),
  mode: fields.mode.optional(),
  stream_origins: fields.stream_origins.optional(),
  record_bodies: fields.record_bodies.optional(),
});

// A pull destination is reached by its consumer: it has no url and no connection to send with.
export const createDestinationBody = destinationBody.superRefine((b, ctx) => {
  if (b.mode === 'pull') {
    if (b.url !== undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'a pull destination has no url: its consumer reads GET /v1/destinations/:id/stream' });
    if (b.connection_id) ctx.addIssue({ code: 'custom', path: ['connection_id'], message: 'a pull destination sends no request, so it takes no connection' });
  } else {
    if (b.url === undefined) ctx.addIssue({ code: 'custom', path: ['url'], message: 'required (or "mode": "pull" for a destination its consumer reads)' });
    if (b.stream_origins?.length) ctx.addIssue({ code: 'custom', path: ['stream_origins'], message: 'only a pull destination has a stream' });
  }
});

// The mode is chosen at creation: a push destination's deliveries and a pull destination's stream do
// not convert. The scheme changes only with a new key, through rotate-secret (a grace keeps the old one signing).
export const patchDestinationBody = changesSomething(destinationBody.omit({ mode: true }).partial()).refine((b) => b.signature_scheme === undefined, {
  message: 'signature_scheme: change it with POST /v1/destinations/:id/rotate-secret {signature_scheme, grace_s}, which makes the new key (the old one signs too during the grace)',
  path: ['signature_scheme'],
});

export const destinationView = z.object({
  id: z.string(),
  url: z.string().optional(),
  description: z.string().nullable(),
  event_types: z.array(z.string()),
  mapping_id: z.string().nullable(),
  mapping_version: fields.mapping_version,
  connection_id: z.string().nullable(),
  enabled: z.boolean(),
  paused: z.boolean(),
  disabled_reason: z.string().nullable(),
  timeout_ms: z.number(),
  retry_schedule_s: z.array(z.number()),
  rate_limit_per_s: z.number().nullable(),
  ordering: z.enum(['none', 'per_call']),
  filter: z.string().nullable(),
  signature_scheme: fields.signature_scheme,
  signing_public_key: z.string().nullable().describe('ed25519: the whpk_ public key receivers verify `v1a,` signatures with; null with hmac-sha256.'),
  max_in_flight: z.number(),
  mode: fields.mode,
  stream_origins: z.array(z.string()),
  record_bodies: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const rotateSecretBody = z
  .strictObject({
    grace_s: z.number().int().min(0).max(7 * 86_400).default(86_400),
    signature_scheme: fields.signature_scheme.optional().describe("The new key's scheme; omitted: the destination's current one."),
  })
  .default({ grace_s: 86_400 });

export const rotateSecretResult = z.object({
  signing_secret: z.string().optional().describe('The new HMAC secret (hmac-sha256 only): shown here once.'),
  signing_public_key: z.string().nullable().describe('ed25519: the new whpk_ public key; null with hmac-sha256.'),
  signature_scheme: fields.signature_scheme,
  previous_valid_until: z.string().nullable(),
});
