import { z } from 'zod';

// Validation messages never quote the value they reject: the value here is an API key.
export const signInBody = z.strictObject({ api_key: z.string().min(1, 'give the account API key').max(200, 'is longer than any API key') });

export const sessionInfo = z.object({
  account: z.object({ id: z.string(), name: z.string() }),
  /** Send it back as the x-csrf-token header on every POST/PUT/PATCH/DELETE riding the session. */
  csrf_token: z.string(),
  /** When the session ends without further requests (idle end, capped by the absolute end). */
  expires_at: z.string(),
  temporal_ui_url: z
    .string()
    .optional()
    .describe("The Temporal UI of the dev server this install runs (TEMPORAL_ADDRESS unset), on its TEMPORAL_UI_PORT: where the console opens a delivery's workflow. Absent with a Temporal cluster"),
});

export const revokedSessions = z.object({ revoked: z.number().int() });
