import { z } from 'zod';
import type { OAuth2Providers } from '../connections/providers-config.ts';
import { listOf } from './common.schema.ts';

/**
 * What an account may know of a provider the operator configured: enough to pick one for an
 * `oauth2_authorization_code` connection. Built field by field, so a secret added to the provider
 * configuration later cannot reach an answer by accident.
 */
export const providerView = z.object({
  name: z.string().describe('The value of `provider` in POST /v1/connections'),
  display_name: z.string().nullable(),
  scopes: z.array(z.string()).describe('Requested when the connection names no scope of its own'),
});
export type ProviderView = z.infer<typeof providerView>;

export const providerList = listOf(providerView);

export const providerViews = (providers: OAuth2Providers): ProviderView[] =>
  Object.entries(providers)
    .map(([name, p]) => ({ name, display_name: p.display_name ?? null, scopes: [...p.scopes] }))
    .sort((a, b) => a.name.localeCompare(b.name));
