import { z } from 'zod';
import { eventTypes } from '../events/catalog.ts';
import { changesSomething, httpUrl } from './common.schema.ts';

/** A filter is one expression, not a mapping: a few lines at most (characters). */
const MAX_FILTER_CHARS = 4096;

const eventTypeOrAll = z.enum([...eventTypes, '*']);

const url = httpUrl.refine((u) => !URL.canParse(u) || (!new URL(u).username && !new URL(u).password), {
    message: 'must not carry credentials; use a connection (headers, basic or OAuth2) instead',
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
  filter: z
    .string()
    .min(1)
    .max(MAX_FILTER_CHARS)
    .nullable()
    .describe('A JSONata expression evaluated against the event at ingest; an event for which it is not truthy starts no delivery here. null = every subscribed event.'),
  record_bodies: z
    .boolean()
    .describe('false: attempt records keep the request and response bodies\' sizes and SHA-256 digests but never the bodies (for destinations that carry card data). Default true.'),
};

export const createDestinationBody = z.object({
  url: fields.url,
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
  record_bodies: fields.record_bodies.optional(),
});

export const patchDestinationBody = changesSomething(createDestinationBody.partial());

export const destinationView = z.object({
  id: z.string(),
  url: z.string(),
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
  record_bodies: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const rotateSecretBody = z.object({ grace_s: z.number().int().min(0).max(7 * 86_400).default(86_400) }).default({ grace_s: 86_400 });
