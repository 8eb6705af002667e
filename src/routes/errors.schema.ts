import { z } from 'zod';

// The one error shape of the API (src/error-handler.ts writes it) and how routes declare it, so the
// OpenAPI document types every refusal the same way (`#/components/schemas/Error`).

const issue = z.object({
  path: z.string().describe('Where: a dotted field path in the body, or `querystring.<name>` / `params.<name>`; empty for the whole input.'),
  message: z.string(),
});

/**
 * Loose on purpose: a refusal may carry details beside code and message (`retry_after_s`, `field`,
 * `line`, `column`, `destination_ids`, `oldest_cursor`…), and fastify serializes errors with this
 * schema too, so a closed one would drop them.
 */
export const errorBody = z
  .looseObject({
    code: z.string().describe('Stable, machine-readable: branch on this (e.g. `validation_error`, `destination_not_found`, `unauthorized`).'),
    message: z.string().describe('For people: what was wrong and how to fix it. Wording may change.'),
    issues: z
      .array(issue)
      .optional()
      .describe('validation_error only: each problem of the input. An unknown field is one issue per field, `unknown field "<path>" in <body|querystring>`.'),
    retry_after_s: z.number().optional().describe('A temporary refusal (429, 503): seconds to wait, also sent as the Retry-After header.'),
  })
  .meta({ id: 'Error' });

/** What each status means anywhere in this API; a route's own codes are in its description. */
const MEANING = {
  400: 'The request is invalid: `validation_error` (with `issues`; an unknown field included) or a more precise code.',
  401: '`unauthorized`: no credentials, or they are not valid.',
  403: '`forbidden`: these credentials may not make this call (an account key on an admin route, or the other way round).',
  404: 'No such resource in this account (`<resource>_not_found`); another account\'s resources are not found either.',
  409: 'The resource is in a state that refuses this (the code says which).',
  410: 'Gone: erased, or past the retention (the code says which).',
  413: '`payload_too_large`: the body is over the route\'s limit.',
  415: '`unsupported_media_type`: send the body as application/json.',
  422: 'Understood but not done (the code says why).',
  429: 'Too many requests (`too_many_requests` after failed API keys, or a quota): wait `retry_after_s`.',
  502: 'An upstream the call depends on answered badly (the code says which).',
  503: 'Temporarily unavailable (`temporal_unavailable`, `database_busy`, …): try again after `retry_after_s` or shortly.',
} as const;

export type ErrorStatus = keyof typeof MEANING;

/** Statuses every authenticated route may answer: bad or missing credentials, the wrong kind, and the failed-key limit. */
export const AUTH_ERRORS = [401, 403, 429] as const satisfies readonly ErrorStatus[];

type ErrorResponse = { description: string; content: { 'application/json': { schema: typeof errorBody } } };

/** The `response` entries for a route's error statuses, all with the shared error schema. */
export function errorResponses(...statuses: ErrorStatus[]): Record<number, ErrorResponse> {
  return Object.fromEntries(
    [...new Set(statuses)].sort().map((s) => [s, { description: MEANING[s], content: { 'application/json': { schema: errorBody } } }]),
  );
}

/** errorResponses of an authenticated route: AUTH_ERRORS and the route's own. */
export const withAuthErrors = (...statuses: ErrorStatus[]): Record<number, ErrorResponse> => errorResponses(...AUTH_ERRORS, ...statuses);
