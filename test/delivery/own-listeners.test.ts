import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { listeningPorts, ownListenersOf } from '../../src/delivery/own-listeners.ts';
import { callCompleted } from '../support/events.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';

describe('the product’s own listeners are never a destination', () => {
  let stack: Stack;
  let apiPort: string;
  let temporalPort: string;
  before(async () => {
    // The stack allows 127.0.0.0/8 (every test receiver is there): the listeners must stay refused anyway.
    stack = await startStack();
    apiPort = new URL(stack.url).port;
    temporalPort = process.env.TEMPORAL_ADDRESS!.split(':').pop()!;
  });
  after(() => stack.stop());

  test('a destination at the API’s own port is refused at creation, on every spelling of this host', async () => {
    const { api_key: key } = await stack.createAccount();
    for (const host of ['127.0.0.1', 'localhost', '127.0.0.2', '[::ffff:127.0.0.1]', '2130706433']) {
      const r = await stack.call('POST', '/v1/destinations', { token: key, body: { url: `http://${host}:${apiPort}/codec/decode`, event_types: ['call_completed'] } });
      assert.equal(r.status, 400, host);
      assert.equal(r.body.code, 'destination_address_refused', host);
      assert.match(r.body.message, new RegExp(`port ${apiPort} is this product's own API, which is never a destination, even inside an allowed network`), host);
    }
    // Another loopback port is an ordinary destination inside the allowed 127.0.0.0/8.
    const ok = await stack.call('POST', '/v1/destinations', { token: key, body: { url: 'http://127.0.0.1:9/hook', event_types: ['call_completed'] } });
    assert.equal(ok.status, 201);
  });

  test('a destination at the Temporal frontend is refused at creation', async () => {
    const { api_key: key } = await stack.createAccount();
    const r = await stack.call('POST', '/v1/destinations', { token: key, body: { url: `http://127.0.0.1:${temporalPort}/`, event_types: ['call_completed'] } });
    assert.equal(r.status, 400);
    assert.match(r.body.message, /own Temporal frontend \(gRPC\)/);
    const ui = await stack.call('POST', '/v1/destinations', { token: key, body: { url: 'http://127.0.0.1:8233/api/v1/namespaces', event_types: ['call_completed'] } });
    assert.equal(ui.status, 400);
    assert.match(ui.body.message, /own Temporal UI \(TEMPORAL_UI_PORT\)/);
  });

  test('one stored anyway is refused when the worker connects, recorded as a failed attempt', async () => {
    for (const [i, host] of ['localhost', '127.0.0.1'].entries()) {
      const { id, api_key: key } = await stack.createAccount();
      await stack.core.store.destinations.create(id, { url: `http://${host}:${apiPort}/codec/decode`, event_types: ['call_completed'], retry_schedule_s: [0, 0.1] });
      const res = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(`evt_own_${i}`) });
      const state = await settled(stack, key, res.body.deliveries[0].id);
      assert.equal(state.status, 'failed', host);
      assert.equal(state.attempts.length, 1, 'not retried');
      assert.equal(state.attempts[0]!.error?.code, 'address_refused');
      assert.match(state.attempts[0]!.error!.message, /this product's own API/);
    }
  });

  test('the configuration names the API, Temporal (gRPC, HTTP API, UI), the public URL and the database', async () => {
    const config = loadConfig({ PORT: '3000', TEMPORAL_ADDRESS: '127.0.0.1:7233', VOICEOI_PUBLIC_URL: 'https://hooks.example.invalid', TEMPORAL_UI_PORT: '8233' });
    const warnings: string[] = [];
    const listeners = await ownListenersOf({ ...config, DATABASE_URL: 'postgres://db.example.invalid/voiceoi' } as typeof config, (w) => warnings.push(w));
    const byName = Object.fromEntries(listeners.map((l) => [l.name, l]));
    assert.deepEqual(byName['API (PORT)'], { name: 'API (PORT)', port: 3000 });
    assert.deepEqual(byName['Temporal frontend (gRPC)'], { name: 'Temporal frontend (gRPC)', port: 7233 });
    assert.deepEqual(byName['Temporal frontend (HTTP API)'], { name: 'Temporal frontend (HTTP API)', port: 7243 });
    assert.deepEqual(byName['Temporal UI (TEMPORAL_UI_PORT)'], { name: 'Temporal UI (TEMPORAL_UI_PORT)', port: 8233 });
    assert.equal(byName['API (VOICEOI_PUBLIC_URL)']?.port, 443);
    assert.equal(byName['database (DATABASE_URL)']?.port, 5432);
    // .invalid never resolves: the operator is told the listener could not be located.
    assert.ok(warnings.some((w) => w.includes('db.example.invalid')), JSON.stringify(warnings));
    const worker = await ownListenersOf(loadConfig({ VOICEOI_ROLE: 'worker', PORT: '9464' }), () => undefined);
    assert.ok(worker.some((l) => l.name === 'metrics listener (PORT)' && l.port === 9464));
  });

  test('with TEMPORAL_PORT (the dev server of a second instance), its gRPC, HTTP API and UI ports are the ones protected', async () => {
    const ports = async (env: Record<string, string>) =>
      Object.fromEntries((await ownListenersOf(loadConfig(env), () => undefined)).map((l) => [l.name, l.port]));
    const derived = await ports({ TEMPORAL_PORT: '17233' });
    assert.equal(derived['Temporal frontend (gRPC)'], 17233);
    assert.equal(derived['Temporal frontend (HTTP API)'], 17243);
    assert.equal(derived['Temporal UI (TEMPORAL_UI_PORT)'], 18233);
    const explicit = await ports({ TEMPORAL_PORT: '17233', TEMPORAL_HTTP_PORT: '17300', TEMPORAL_UI_PORT: '17400' });
    assert.equal(explicit['Temporal frontend (HTTP API)'], 17300);
    assert.equal(explicit['Temporal UI (TEMPORAL_UI_PORT)'], 17400);
  });

  test('the ports a process of ours listens on are found, so the dev server’s unannounced ports can be protected', { skip: process.platform !== 'linux' }, () => {
    assert.ok(listeningPorts(process.pid).includes(Number(apiPort)), 'this process listens on the API port');
    assert.deepEqual(listeningPorts(2 ** 22 + 1), [], 'no such process: none');
  });
});
