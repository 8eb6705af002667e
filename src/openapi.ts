import type { SwaggerOptions } from '@fastify/swagger';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';

// The OpenAPI document (/openapi.json) is built from the routes' own zod schemas (src/routes/*.schema.ts):
// what a route validates and serializes is what the document says. test/openapi/document.test.ts
// validates it and checks that every route is in it, typed, with an operationId and the shared errors.

const TAGS: { name: string; description: string }[] = [
  { name: 'events', description: 'Ingest call events (the VoiceOI platform) and the event catalog.' },
  { name: 'destinations', description: 'Where events go: push (HTTP) or pull (a stream its consumer reads); signing keys, pause, resume, recover, test sends.' },
  { name: 'streams', description: "A pull destination's messages: pages (long-poll), the live stream (SSE), stream tokens, acks." },
  { name: 'deliveries', description: 'One (event, destination) pair each: status, attempts, retry, cancel.' },
  { name: 'mappings', description: 'JSONata or TypeScript transforms from an event to the request a destination gets; versions and test runs.' },
  { name: 'connections', description: "Credentials a destination sends with (headers, basic, OAuth2) and the OAuth2 authorization-code flow." },
  { name: 'calls', description: "A call's deliveries, and erasing everything of a call." },
  { name: 'accounts', description: 'Admin token only: accounts, their API keys and limits.' },
  { name: 'console sessions', description: 'Console sign-in with an account API key (a cookie session).' },
  { name: 'operations', description: 'Health and metrics, for the operator.' },
];

type RouteDoc = Parameters<typeof jsonSchemaTransform>[0];

/** A success answer's description when its schema has none (@fastify/swagger would say "Default Response"). */
const SUCCESS: Record<string, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted: the work continues durably after the answer' };

/**
 * The zod transform, except for answers without a body (common.schema.ts `noBody`): those become a
 * `type: "null"` response, which @fastify/swagger documents as a status with a description only.
 */
function transform(doc: RouteDoc): ReturnType<typeof jsonSchemaTransform> {
  const response = (doc.schema?.response ?? {}) as Record<string, unknown>;
  const bodiless = Object.entries(response).filter(([, s]) => s instanceof z.ZodUndefined);
  const rest = Object.fromEntries(Object.entries(response).filter(([, s]) => !(s instanceof z.ZodUndefined)));
  const out = jsonSchemaTransform(bodiless.length ? ({ ...doc, schema: { ...doc.schema, response: rest } } as RouteDoc) : doc);
  const documented = (out.schema as { response?: Record<string, { description?: string }> }).response;
  if (!documented) return out;
  for (const [status, s] of bodiless) documented[status] = { type: 'null', description: (s as z.ZodUndefined).description ?? 'No body' } as { description: string };
  for (const [status, r] of Object.entries(documented)) if (!r.description && SUCCESS[status]) r.description = SUCCESS[status];
  return out;
}

export function openapiOptions(version: string): SwaggerOptions {
  return {
    openapi: {
      info: {
        title: 'VoiceOI Hooks',
        version,
        description:
          'Webhook & event API for VoiceOI call events. Errors are `{ code, message, ... }` (`#/components/schemas/Error`); ' +
          'an unknown field in a body or query string is refused with `400 validation_error` naming it.',
      },
      tags: TAGS,
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform,
    // Schemas with an id (the shared Error) become components, referenced from every route.
    transformObject: jsonSchemaTransformObject,
  };
}
