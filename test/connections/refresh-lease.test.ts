import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';
import { spawnWorker, type ProductProcess } from '../support/product-process.ts';
import { Browser } from './support/browser.ts';
import { connectInBrowser, destinationFor, postEvent, providersEnv } from './support/flows.ts';
import { startOAuthServer, type OAuthServer } from './support/oauth-server.ts';

// The refresh of an authorization-code connection is leased in the database (src/store/connections.ts,
// acquireRefreshLease), not in a worker's memory: with rotating refresh tokens, a second refresh with
// the same refresh token would be refused (invalid_grant) and the connection would need re-authorization.

const bearerOf = (h: Record<string, string | string[] | undefined>) => /^Bearer (.+)$/.exec(String(h.authorization ?? ''))?.[1];
const DELIVERIES = 8;
/** How long the provider takes to answer a token request while the deliveries start: every attempt needs the refresh meanwhile. */
const TOKEN_ANSWER_MS = 1500;

for (const database of ['sqlite', 'postgres'] as const) {
  describe(`an OAuth2 refresh forced from two workers (${database})`, () => {
    let stack: Stack;
    let oauth: OAuthServer;
    let receiver: Receiver;
    let workers: ProductProcess[] = [];
    let slowTokens = false;
    before(async () => {
      oauth = await startOAuthServer();
      oauth.provider.use(async (ctx, next) => {
        if (slowTokens && ctx.path === '/token') await new Promise((r) => setTimeout(r, TOKEN_ANSWER_MS));
        await next();
      });
      stack = await startStack({ VOICEOI_OAUTH2_PROVIDERS: providersEnv(oauth) }, { worker: false, database });
      receiver = await startReceiver();
      // Two worker processes on the stack's database, task queue and Temporal: each its own token cache.
      workers = await Promise.all([spawnWorker(stack), spawnWorker(stack)]);
    });
    after(async () => {
      await Promise.all(workers.map((w) => w.stop()));
      await stack.stop();
      await receiver.close();
      await oauth.close();
    });

    test('makes one refresh request; every delivery on either worker carries the new token', async () => {
      const token = (await stack.createAccount()).api_key;
      const c = await stack.call('POST', '/v1/connections', { token, body: { kind: 'oauth2_authorization_code', name: 'CRM (user)', provider: 'crm' } });
      assert.equal(c.status, 201, JSON.stringify(c.body));
      const connectionId = c.body.id as string;
      await destinationFor(stack, token, `${receiver.url}/lease`, connectionId);
      oauth.ttl.accessToken = 2;
      try {
        assert.equal((await connectInBrowser(stack, new Browser(), token, connectionId, 'erin')).status, 200);
      } finally {
        oauth.ttl.accessToken = 3600;
      }
      const expired = (await stack.core.store.connections.load(connectionId))!.tokens!;
      await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expired.expires_at!) - Date.now()) + 100));

      const refreshRequests = () => oauth.tokenRequests.filter((r) => r.grant_type === 'refresh_token');
      assert.equal(refreshRequests().length, 0);
      slowTokens = true;
      let ids: string[];
      try {
        ids = (await Promise.all(Array.from({ length: DELIVERIES }, (_, i) => postEvent(stack, token, `lease-${database}-${i}`)))).flat();
        for (const id of ids) assert.equal((await settled(stack, token, id)).status, 'delivered', id);
      } finally {
        slowTokens = false;
      }

      assert.deepEqual(refreshRequests().map((r) => r.status), [200], 'one refresh request, and it succeeded');
      const refreshed = (await stack.core.store.connections.load(connectionId))!.tokens!;
      assert.notEqual(refreshed.access_token, expired.access_token);
      const sent = receiver.requests.filter((r) => r.url === '/lease').map((r) => bearerOf(r.headers));
      assert.equal(sent.length, DELIVERIES);
      assert.deepEqual(new Set(sent), new Set([refreshed.access_token]), 'every delivery carries the refreshed token');
      assert.equal((await oauth.introspect(refreshed.access_token)).active, true);

      // Both worker processes ran attempts (a worker's identity is <pid>@<host>): an ordinary activity
      // names its worker; a local one (a marker) ran on the worker that completed its workflow task.
      const ranOn = new Set<string>();
      for (const id of ids) {
        const history = await stack.client.workflow.getHandle(id).fetchHistory();
        let taskCompletedBy: string | undefined;
        for (const e of history.events ?? []) {
          taskCompletedBy = e.workflowTaskCompletedEventAttributes?.identity ?? taskCompletedBy;
          const identity = e.activityTaskStartedEventAttributes?.identity ?? (e.markerRecordedEventAttributes ? taskCompletedBy : undefined);
          if (identity) ranOn.add(identity.split('@')[0]!);
        }
      }
      assert.deepEqual([...ranOn].sort(), workers.map((w) => String(w.pid)).sort(), 'the deliveries ran on both workers');
    });
  });
}
