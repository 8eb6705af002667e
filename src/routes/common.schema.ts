import { z } from 'zod';

// Schemas more than one route file uses: one definition, so the same input gets the same answer.

export const idParams = z.object({ id: z.string().min(1) });

/** The name a tenant gives an account, mapping or connection. */
export const displayName = z.string().trim().min(1).max(200);

/** A URL the worker will call for the tenant (destinations, token endpoints): the network policy is checked separately. */
export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).max(2048);

/** A PATCH body must change something: an empty one is a mistake, not a no-op. */
export const changesSomething = <T extends z.ZodType<object>>(body: T) =>
  body.refine((b) => Object.keys(b).length > 0, { message: 'send at least one field to change' });

/** A list answer: `{items: [...]}`. */
export const listOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

/**
 * An answer without a body (204, a redirect): src/openapi.ts documents it as the status and this
 * description, with no content (zod has no JSON Schema for "nothing").
 */
export const noBody = (description: string) => z.undefined().describe(description);
export const noContent = noBody('Done; no body');
