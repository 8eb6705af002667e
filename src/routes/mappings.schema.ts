import { z } from 'zod';
import { eventEnvelopeSchema } from '../events/catalog.ts';
import { displayName, idParams } from './common.schema.ts';
import { errorBody } from './errors.schema.ts';

const mappingLanguage = z.enum(['jsonata', 'typescript']);
const source = z.string().min(1).max(256 * 1024);
// Per-mapping limits, within the sandbox's own bounds (sandboxes/limits.ts clamps again).
const timeout_ms = z.number().int().min(1).max(5_000).nullable();
const memory_mb = z.number().int().min(8).max(256).nullable();

export const createMappingBody = z.strictObject({
  name: displayName,
  language: mappingLanguage,
  source,
  timeout_ms: timeout_ms.optional(),
  memory_mb: memory_mb.optional(),
});

export const putMappingBody = z.strictObject({ source, timeout_ms: timeout_ms.optional(), memory_mb: memory_mb.optional() });

export const testMappingBody = z.union([
  z.strictObject({ language: mappingLanguage, source, event: eventEnvelopeSchema, timeout_ms: timeout_ms.optional(), memory_mb: memory_mb.optional() }),
  z.strictObject({ mapping_id: z.string().min(1), version: z.number().int().min(1).optional(), event: eventEnvelopeSchema }),
]);

export const mappingView = z.object({
  id: z.string(),
  name: z.string(),
  language: mappingLanguage,
  version: z.number(),
  timeout_ms: z.number().nullable(),
  memory_mb: z.number().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
});

export const versionParams = idParams.extend({ version: z.coerce.number().int().min(1) });

export const versionsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, 'must be the next_cursor of the previous page')
    .optional()
    .describe('next_cursor of the previous page'),
});

export const versionsPage = z.object({
  items: z.array(z.object({ version: z.number(), created_at: z.string() })),
  next_cursor: z.string().nullable(),
});

export const mappingDetail = mappingView.extend({ source: z.string().optional().describe("The current version's source") });

export const mappingVersion = z.object({ version: z.number().int(), source: z.string(), created_at: z.string() });

export const mappingTestResult = z.object({
  result: z.unknown().describe('What the mapping returned: the request a delivery would send ({method?, path?, query?, headers?, body}), or null when it skips the event'),
  logs: z.array(z.string()).describe("The mapping's console output"),
  duration_ms: z.number().describe('ms'),
});

/** 422 of a test run: the shared error, with where the mapping failed and what it logged. */
export const mappingTestFailure = errorBody
  .extend({
    line: z.number().int().optional(),
    column: z.number().int().optional(),
    stack: z.string().optional(),
    logs: z.array(z.string()),
    duration_ms: z.number().describe('ms'),
  })
  .meta({ id: 'MappingTestError' });
