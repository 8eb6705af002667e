import { callCompleted } from '../../support/events.ts';
import { createDestination } from '../../support/resources.ts';
import type { Stack } from '../../support/stack.ts';
import type { Browser } from './browser.ts';
import type { OAuthServer } from './oauth-server.ts';

/** Posts one call_completed event and returns the ids of the deliveries it started. */
export async function postEvent(stack: Stack, token: string, eventId: string): Promise<string[]> {
  const r = await stack.call('POST', '/v1/events', { token, body: callCompleted(eventId) });
  if (r.status !== 202) throw new Error(`ingest answered ${r.status}: ${JSON.stringify(r.body)}`);
  return (r.body.deliveries as { id: string }[]).map((d) => d.id);
}

/** Creates a destination (one attempt unless told otherwise) for the connection. */
export async function destinationFor(stack: Stack, token: string, url: string, connectionId: string, retry: number[] = [0]): Promise<string> {
  return (await createDestination(stack, token, { url, connection_id: connectionId, retry_schedule_s: retry })).id;
}

export const providersEnv = (server: OAuthServer) =>
  JSON.stringify({
    crm: {
      authorize_url: server.authorizeUrl,
      token_url: server.tokenUrl,
      client_id: server.clients.app.id,
      client_secret: server.clients.app.secret,
      scopes: ['openid', 'offline_access'],
      authorize_params: { prompt: 'consent' },
    },
  });

/**
 * The BPO engineer clicks "connect": the browser calls start (with the API key), follows the redirect
 * to the provider, signs in as `login`, consents, and lands on the callback. Returns the callback's
 * answer, and the callback URL so a test can replay it.
 */
export async function connectInBrowser(stack: Stack, browser: Browser, token: string, connectionId: string, login: string) {
  const start = await browser.request(`${stack.url}/v1/connections/${connectionId}/oauth2/start`, { headers: { authorization: `Bearer ${token}` } });
  if (start.status !== 302) throw new Error(`start answered ${start.status}: ${await start.text()}`);
  const callbackUrl = await browser.authorize(start.headers.get('location')!, login, `${stack.url}/v1/oauth2/callback`);
  const res = await browser.request(callbackUrl);
  return { status: res.status, body: (await res.json()) as Record<string, any>, callbackUrl };
}
