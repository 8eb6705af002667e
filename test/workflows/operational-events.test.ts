import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { Browser } from '../connections/support/browser.ts';
import { connectInBrowser, destinationFor, postEvent, providersEnv } from '../connections/support/flows.ts';
import { startOAuthServer, type OAuthServer } from '../connections/support/oauth-server.ts';
import { createDestinationHealth } from '../../src/delivery/destination-health.ts';
import { createFailingStreak, DISABLE_AFTER_FAILING_MS } from '../../src/delivery/failing-streak.ts';
import { createOperationalEvents } from '../../src/events/operational.ts';
import { createIngestService } from '../../src/ingest.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type ReceivedRequest, type Receiver } from '../support/receiver.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';

type Alert = { id: string; type: string; occurred_at: string; account_id: string; data: Record<string, unknown> };

describe('operational events (hook.*)', () => {
  let stack: Stack;
  let receiver: Receiver;
  let oauth: OAuthServer;
  before(async () => {
    oauth = await startOAuthServer();
    stack = await startStack({ VOICEOI_OAUTH2_PROVIDERS: providersEnv(oauth) });
    // /fail… answers 400 (failed for good at once), /gone… 410, anything else 200.
    receiver = await startReceiver((r) => ({ status: r.url.startsWith('/fail') ? 400 : r.url.startsWith('/gone') ? 410 : 200 }));
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
    await oauth.close();
  });

  const at = (path: string): ReceivedRequest[] => receiver.requests.filter((r) => r.url === path);
  const alertsAt = (path: string): Alert[] => at(path).map((r) => JSON.parse(r.body) as Alert);
  const destination = async (token: string, path: string, event_types: string[]) => {
    const r = await stack.call('POST', '/v1/destinations', { token, body: { url: `${receiver.url}${path}`, event_types, retry_schedule_s: [0] } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { id: string; signing_secret: string };
  };
  const waitForAlerts = (path: string, n: number) => eventually(async () => (at(path).length >= n ? alertsAt(path) : undefined), `${n} alert(s) at ${path}`);
  /** Long enough for a second alert, had one been emitted, to be ingested and delivered. */
  const noMoreAlerts = () => new Promise((r) => setTimeout(r, 1500));
  /** The worker's wiring (src/runtime.ts) of the health step, on an injected clock; `onDisabled` replaces its alert. */
  const workerHealth = (opts: { now?: () => Date; onDisabled?: (accountId: string, destinationId: string, reason: string) => Promise<unknown>; onError?: (err: unknown) => void } = {}) => {
    const { core } = stack;
    const operational = createOperationalEvents({ ingest: createIngestService({ store: core.store, client: stack.client, taskQueue: stack.taskQueue, engine: core.engine }) });
    const streak = createFailingStreak({ streaks: core.store.failingStreaks, destinations: core.store.destinations, now: opts.now });
    return createDestinationHealth({
      destinations: core.store.destinations,
      streak,
      now: opts.now,
      onDisabled: opts.onDisabled ?? ((accountId, destinationId, reason) => operational.destinationDisabled(accountId, destinationId, reason)),
      onError: opts.onError,
    });
  };

  test('hook.delivery_failed reaches a subscribed destination, signed, with its fields; `*` does not subscribe to it', async () => {
    const { id: accountId, api_key: token } = await stack.createAccount();
    const failing = await destination(token, '/fail-1', ['call_completed']);
    const observer = await destination(token, '/alerts-1', ['hook.delivery_failed']);
    await destination(token, '/all-1', ['*']);

    const [deliveryOfFailing] = (await stack.call('POST', '/v1/events', { token, body: callCompleted('evt_op_1') })).body.deliveries.filter(
      (d: { destination_id: string }) => d.destination_id === failing.id,
    );
    assert.equal((await settled(stack, token, deliveryOfFailing.id)).status, 'failed');

    const [alert] = await waitForAlerts('/alerts-1', 1);
    assert.equal(alert!.type, 'hook.delivery_failed');
    assert.equal(alert!.account_id, accountId);
    assert.deepEqual(alert!.data, {
      delivery_id: deliveryOfFailing.id,
      destination_id: failing.id,
      event_id: 'evt_op_1',
      event_type: 'call_completed',
      reason: 'HTTP 400',
      attempts: 1,
    });
    const [req] = at('/alerts-1');
    assert.equal(req!.headers['x-voiceoi-event'], 'hook.delivery_failed');
    new Webhook(observer.signing_secret).verify(req!.body, {
      'webhook-id': String(req!.headers['webhook-id']),
      'webhook-timestamp': String(req!.headers['webhook-timestamp']),
      'webhook-signature': String(req!.headers['webhook-signature']),
    });
    // Found like any delivery, through the observer.
    assert.equal((await settled(stack, token, `delivery:${observer.id}:${alert!.id}`)).status, 'delivered');
    // The destination subscribed to every (call) event got the call event only.
    assert.deepEqual(at('/all-1').map((r) => r.headers['x-voiceoi-event']), ['call_completed']);
  });

  test('a producer cannot post an operational event', async () => {
    const { api_key: token } = await stack.createAccount();
    const r = await stack.call('POST', '/v1/events', {
      token,
      body: { id: 'evt_forged', type: 'hook.destination_disabled', occurred_at: new Date().toISOString(), data: { destination_id: 'dst_x', reason: 'forged' } },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'reserved_event_type');
  });

  test('a 410 Gone disables the destination and emits hook.destination_disabled once (and hook.delivery_failed)', async () => {
    const { api_key: token } = await stack.createAccount();
    const gone = await destination(token, '/gone-2', ['call_completed']);
    await destination(token, '/alerts-2', ['hook.destination_disabled', 'hook.delivery_failed']);
    const [delivery] = await postEvent(stack, token, 'evt_op_2');

    await waitForAlerts('/alerts-2', 2);
    // The attempt alerted; the delivery's end asked again (deliveryFailed, gone): deduplicated.
    await stack.client.workflow.getHandle(delivery!).result();
    await noMoreAlerts();
    const alerts = alertsAt('/alerts-2');
    assert.deepEqual(alerts.map((a) => a.type).sort(), ['hook.delivery_failed', 'hook.destination_disabled'], JSON.stringify(alerts));
    const disabled = alerts.find((a) => a.type === 'hook.destination_disabled');
    assert.ok(disabled, JSON.stringify(alerts));
    assert.deepEqual(Object.keys(disabled.data).sort(), ['destination_id', 'reason']);
    assert.equal(disabled.data.destination_id, gone.id);
    assert.match(String(disabled.data.reason), /410 Gone/);
    const failed = alerts.find((a) => a.type === 'hook.delivery_failed');
    assert.equal(failed?.data.destination_id, gone.id);
    const now = (await stack.call('GET', `/v1/destinations/${gone.id}`, { token })).body;
    assert.equal(now.enabled, false);
    assert.equal(now.disabled_reason, disabled.data.reason);
  });

  test('a 410 Gone to a test send disables the destination and emits hook.destination_disabled (no hook.delivery_failed)', async () => {
    const { api_key: token } = await stack.createAccount();
    const gone = await destination(token, '/gone-6', ['call_completed']);
    await destination(token, '/alerts-6', ['hook.destination_disabled', 'hook.delivery_failed']);
    const sent = await stack.call('POST', `/v1/destinations/${gone.id}/test`, { token, body: { event_type: 'call_completed' } });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));

    const [alert] = await waitForAlerts('/alerts-6', 1);
    assert.equal(alert!.type, 'hook.destination_disabled');
    assert.equal(alert!.data.destination_id, gone.id);
    const now = (await stack.call('GET', `/v1/destinations/${gone.id}`, { token })).body;
    assert.equal(now.enabled, false);
    assert.equal(alert!.data.reason, now.disabled_reason);
    assert.match(String(alert!.data.reason), /410 Gone/);
    await stack.client.workflow.getHandle(sent.body.delivery.id).result();
    await noMoreAlerts();
    assert.equal(at('/alerts-6').length, 1, 'a test send’s failure alerts no one; its disabling does, once');
  });

  test('a 410 whose alert could not be emitted at the attempt is alerted at the delivery’s end, once', async () => {
    const { id: accountId, api_key: token } = await stack.createAccount();
    const gone = await destination(token, '/gone-7', ['call_completed']);
    await destination(token, '/alerts-7', ['hook.destination_disabled']);
    const failures: unknown[] = [];
    const outage = workerHealth({ onDisabled: () => Promise.reject(new Error('ingest unavailable')), onError: (err) => failures.push(err) });
    const attempt = { n: 1, started_at: new Date().toISOString(), duration_ms: 3, verdict: 'gone', response: { status: 410, headers: {}, body: '', body_truncated: false } } as const;
    // The attempt itself does not fail (a retry would send the request again): the failure is reported.
    await outage.afterAttempt(accountId, gone.id, attempt);
    assert.equal(failures.length, 1);
    const disabled = (await stack.call('GET', `/v1/destinations/${gone.id}`, { token })).body;
    assert.equal(disabled.enabled, false);

    // What deliveryFailed does when the last attempt was a 410 (also for runs whose 410 came before
    // the attempt alerted), retried by Temporal: asked twice, one alert.
    const health = workerHealth();
    await health.alertIfDisabled(gone.id);
    await health.alertIfDisabled(gone.id);
    const [alert] = await waitForAlerts('/alerts-7', 1);
    assert.equal(alert!.data.reason, disabled.disabled_reason);
    await noMoreAlerts();
    assert.equal(at('/alerts-7').length, 1);
  });

  test('a destination disabled for failing every delivery for 5 days emits hook.destination_disabled, once', async () => {
    const { id: accountId, api_key: token } = await stack.createAccount();
    const failing = await destination(token, '/fail-5', ['call_completed']);
    await destination(token, '/alerts-5', ['hook.destination_disabled']);
    // Five days pass in two attempts.
    let clock = Date.now();
    const health = workerHealth({ now: () => new Date(clock) });
    const attempt = { n: 1, started_at: new Date(clock).toISOString(), duration_ms: 3, verdict: 'retry', response: { status: 503, headers: {}, body: '', body_truncated: false } } as const;
    await health.afterAttempt(accountId, failing.id, attempt);
    clock += DISABLE_AFTER_FAILING_MS + 1;
    await health.afterAttempt(accountId, failing.id, attempt);

    const [alert] = await waitForAlerts('/alerts-5', 1);
    assert.equal(alert!.type, 'hook.destination_disabled');
    assert.equal(alert!.data.destination_id, failing.id);
    assert.match(String(alert!.data.reason), /every delivery failed for 5 days/);
    assert.equal(alert!.data.reason, (await stack.call('GET', `/v1/destinations/${failing.id}`, { token })).body.disabled_reason);
    // Already disabled: a further failed attempt disables nothing and emits nothing.
    await health.afterAttempt(accountId, failing.id, attempt);
    await noMoreAlerts();
    assert.equal(at('/alerts-5').length, 1);
  });

  test('a refused refresh token emits hook.connection_needs_reauth', async () => {
    const { api_key: token } = await stack.createAccount();
    const c = await stack.call('POST', '/v1/connections', { token, body: { kind: 'oauth2_authorization_code', name: 'CRM (user)', provider: 'crm' } });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    await destinationFor(stack, token, `${receiver.url}/crm-3`, c.body.id);
    await destination(token, '/alerts-3', ['hook.connection_needs_reauth']);
    oauth.ttl.accessToken = 2;
    try {
      assert.equal((await connectInBrowser(stack, new Browser(), token, c.body.id, 'dave')).status, 200);
    } finally {
      oauth.ttl.accessToken = 3600;
    }
    const expiresAt = Date.parse((await stack.call('GET', `/v1/connections/${c.body.id}`, { token })).body.token_expires_at);
    await oauth.revokeRefreshTokens();
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now())));

    const [d] = await postEvent(stack, token, 'evt_op_3');
    assert.equal((await settled(stack, token, d!)).attempts[0]!.error?.code, 'connection_needs_reauth');
    const [alert] = await waitForAlerts('/alerts-3', 1);
    assert.equal(alert!.type, 'hook.connection_needs_reauth');
    assert.deepEqual(Object.keys(alert!.data).sort(), ['connection_id', 'reason']);
    assert.equal(alert!.data.connection_id, c.body.id);
    assert.match(String(alert!.data.reason), /invalid_grant/);
  });

  test('no alert loop: a failing destination subscribed to hook.delivery_failed produces no further hook event', async () => {
    const { api_key: token } = await stack.createAccount();
    await destination(token, '/fail-4', ['call_completed']);
    const loop = await destination(token, '/fail-4-alerts', ['hook.delivery_failed']);
    await destination(token, '/alerts-4', ['hook.delivery_failed']);
    await postEvent(stack, token, 'evt_op_4');

    const [alert] = await waitForAlerts('/alerts-4', 1);
    // The failing subscriber got the same alert and failed it; wait until its workflow has closed,
    // i.e. until any emission of its own would already have been ingested.
    const loopDelivery = `delivery:${loop.id}:${alert!.id}`;
    assert.equal((await settled(stack, token, loopDelivery)).status, 'failed');
    await stack.client.workflow.getHandle(loopDelivery).result();
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(at('/alerts-4').length, 1, 'one alert, for the call event only');
    assert.equal(at('/fail-4-alerts').length, 1);
  });
});
