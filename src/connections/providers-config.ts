import { z } from 'zod';

// OAuth2 provider apps for `oauth2_authorization_code` connections, configured by the operator at boot:
// VOICEOI_OAUTH2_PROVIDERS='{"salesforce": {"display_name": "Salesforce", "authorize_url": "...", "token_url": "...",
// "client_id": "...", "client_secret": "...", "scopes": ["api", "refresh_token"]}}'. Each is registered with
// @fastify/oauth2. Accounts can list name, display name and scopes (GET /v1/oauth2/providers), nothing else.

const endpoint = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .refine((u) => !new URL(u).hash, { message: 'must not have a #fragment' });

export const oauth2ProviderSchema = z.strictObject({
  /** What the console shows for it ("Salesforce"); the name is shown when absent. */
  display_name: z.string().trim().min(1).max(80).optional(),
  authorize_url: endpoint,
  token_url: endpoint,
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  /** Requested when a connection does not name its own scope. */
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be an OAuth2 scope token')).default([]),
  auth_method: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
  /** Extra authorize-request parameters some providers need, e.g. {"access_type": "offline", "prompt": "consent"}. */
  authorize_params: z.record(z.string(), z.string()).default({}),
});

export type OAuth2ProviderConfig = z.infer<typeof oauth2ProviderSchema>;
export type OAuth2Providers = Record<string, OAuth2ProviderConfig>;

const providerName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'provider names are 1-40 of [a-z0-9_-]');

/** The env variable: a JSON object keyed by provider name. Error messages never echo the value (secrets). */
export const oauth2ProvidersEnv = z
  .string()
  .optional()
  .transform((raw, ctx): unknown => {
    if (raw === undefined || raw.trim() === '') return {};
    try {
      return JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not valid JSON (expected {"<provider>": {authorize_url, token_url, client_id, client_secret, scopes?}})' });
      return z.NEVER;
    }
  })
  .pipe(z.record(providerName, oauth2ProviderSchema));
