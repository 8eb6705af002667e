import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { loggerOptions } from '../../src/logger.ts';
import { buildApi, createClient, createCore, startWorker, type Core, type WorkerHandle } from '../../src/runtime.ts';
import { createCallKeys } from '../../src/erasure/call-keys.ts';
import { createEncryptionCodec } from '../../src/temporal/codec.ts';
import { targetFromConfig } from '../../src/temporal/connection.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { eventually } from '../support/stack.ts';
import { Browser } from './support/browser.ts';
import { providersEnv } from './support/flows.ts';
import { startOAuthServer, type OAuthServer } from './support/oauth-server.ts';

// Every log line of this process: the Temporal runtime's (installed first, so createCore keeps it)
// and the product's pino logger at trace level.
const temporalLogs: string[] = [];
Runtime.install({ logger: new DefaultLogger('TRACE', (e) => temporalLogs.push(`${e.level} ${e.message} ${JSON.stringify(e.meta ?? {})}`)) });
const appLogs: string[] = [];

const payloadsIn = (node: unknown, out: Payload[] = []): Payload[] => {
  if (!node || typeof node !== 'object') return out;
  if (node instanceof Uint8Array) return out;
  const o = node as Record<string, unknown>;
  if (o.data instanceof Uint8Array && o.metadata && typeof o.metadata === 'object') out.push(o as Payload);
  for (const v of Object.values(o)) payloadsIn(v, out);
  return out;
};

describe('no secret value leaks into history, logs or API responses', () => {
  let core: Core;
  let oauth: OAuthServer;
  let receiver: Receiver;
  let worker: WorkerHandle;
  let api: Awaited<ReturnType<typeof buildApi>>;
  let client: Awaited<ReturnType<typeof createClient>>['client'];
  let closeClient: () => Promise<void>;
  let url: string;
  let dataDir: string;
  const responses: { label: string; text: string }[] = [];

  before(async () => {
    oauth = await startOAuthServer();
    receiver = await startReceiver();
    dataDir = mkdtempSync(join(tmpdir(), 'voiceoi-leaks-'));
    const config = loadConfig({
      VOICEOI_DATA_DIR: dataDir,
      VOICEOI_ADMIN_TOKEN: `admin-${randomBytes(16).toString('hex')}`,
      LOG_LEVEL: 'trace',
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!,
      VOICEOI_TASK_QUEUE: `test-${randomBytes(6).toString('hex')}`,
      VOICEOI_OAUTH2_PROVIDERS: providersEnv(oauth),
      // The receiver and the OAuth2 server are on loopback, which the secure default refuses.
      VOICEOI_ALLOWED_NETWORKS: '127.0.0.0/8',
    });
    core = await createCore(config);
    core.logger = pino(loggerOptions('trace'), { write: (line: string) => void appLogs.push(line) });
    const target = targetFromConfig(config, process.env.TEMPORAL_ADDRESS!);
    const temporalClient = await createClient(core, target);
    client = temporalClient.client;
    closeClient = () => temporalClient.connection.close();
    api = await buildApi(core, client);
    await api.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
    const bundle = process.env.VOICEOI_TEST_BUNDLE;
    worker = await startWorker(core, target, bundle ? { workflowBundle: { code: readFileSync(bundle, 'utf8') } } : {});
  });
  after(async () => {
    await api.close();
    await worker.stop();
    await closeClient();
    await core.engine.close();
    await core.store.close();
    await receiver.close();
    await oauth.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Every API answer is kept, labelled, for the final scan. */
  async function call(label: string, method: string, path: string, token: string, body?: unknown) {
    const res = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    responses.push({ label, text });
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  test('headers, basic, client credentials (good and bad), authorization code with refresh, and signing-secret rotation', async () => {
    const secret = (label: string) => `${label}_${randomBytes(16).toString('hex')}`;
    const secrets = new Map<string, string>(); // value -> label of the only response allowed to show it
    const account = await call('create account', 'POST', '/v1/accounts', core.config.VOICEOI_ADMIN_TOKEN!, { name: 'Leak check' });
    assert.equal(account.status, 201);
    const token: string = account.body.api_key;
    secrets.set(token, 'create account');

    const headerValue = secret('hdr');
    const password = secret('pw');
    const wrongSecret = secret('wrong');
    for (const v of [headerValue, password, wrongSecret, oauth.clients.basic.secret, oauth.clients.app.secret]) secrets.set(v, '');

    const connections = [
      { kind: 'headers', name: 'h', headers: { 'X-Api-Key': headerValue } },
      { kind: 'basic', name: 'b', username: 'bot', password },
      { kind: 'oauth2_client_credentials', name: 'cc', token_url: oauth.tokenUrl, client_id: oauth.clients.basic.id, client_secret: oauth.clients.basic.secret },
      { kind: 'oauth2_client_credentials', name: 'cc-bad', token_url: oauth.tokenUrl, client_id: oauth.clients.basic.id, client_secret: wrongSecret },
      { kind: 'oauth2_authorization_code', name: 'ac', provider: 'crm' },
    ];
    const destinations: string[] = [];
    for (const [i, body] of connections.entries()) {
      const c = await call(`create connection ${body.kind}`, 'POST', '/v1/connections', token, body);
      assert.equal(c.status, 201);
      const d = await call(`create destination ${i}`, 'POST', '/v1/destinations', token, { url: `${receiver.url}/${i}`, event_types: ['call_completed'], connection_id: c.body.id, retry_schedule_s: [0] });
      assert.equal(d.status, 201);
      secrets.set(d.body.signing_secret, `create destination ${i}`);
      destinations.push(d.body.id);
      await call('read connection', 'GET', `/v1/connections/${c.body.id}`, token);
    }
    const acId = (await call('list', 'GET', '/v1/connections', token)).body.items.find((c: { kind: string }) => c.kind === 'oauth2_authorization_code').id;

    // Authorization code: a short-lived token, so the deliveries below also refresh it.
    oauth.ttl.accessToken = 2;
    const browser = new Browser();
    const start = await browser.request(`${url}/v1/connections/${acId}/oauth2/start`, { headers: { authorization: `Bearer ${token}` } });
    const callbackUrl = await browser.authorize(start.headers.get('location')!, 'alice', `${url}/v1/oauth2/callback`);
    const code = new URL(callbackUrl).searchParams.get('code')!;
    secrets.set(code, '');
    for (const v of browser.cookies(url).values()) secrets.set(v, ''); // the PKCE verifier
    const cb = await browser.request(callbackUrl);
    responses.push({ label: 'callback', text: await cb.text() });
    assert.equal(cb.status, 200);
    oauth.ttl.accessToken = 3600;
    const firstTokens = (await core.store.connections.load(acId))!.tokens!;
    secrets.set(firstTokens.access_token, '');
    secrets.set(firstTokens.refresh_token!, '');

    const rotated = await call('rotate', 'POST', `/v1/destinations/${destinations[0]}/rotate-secret`, token, { grace_s: 600 });
    secrets.set(rotated.body.signing_secret, 'rotate');

    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(firstTokens.expires_at!) - Date.now())));
    const ingest = await call('ingest', 'POST', '/v1/events', token, callCompleted('leak-1'));
    assert.equal(ingest.status, 202);
    const ids: string[] = ingest.body.deliveries.map((d: { id: string }) => d.id);
    const views = await eventually(async () => {
      const all = await Promise.all(ids.map((id) => fetch(`${url}/v1/deliveries/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json() as Promise<{ status: string; destination_id: string }>)));
      return all.every((v) => v.status === 'delivered' || v.status === 'failed') ? all : undefined;
    }, 'all deliveries to settle', 30_000);
    for (const [i, v] of views.entries()) responses.push({ label: `delivery ${i}`, text: JSON.stringify(v) });
    // In the order the connections were created: only the one with the wrong client secret fails.
    assert.deepEqual(destinations.map((d) => views.find((v) => v.destination_id === d)?.status), ['delivered', 'delivered', 'delivered', 'failed', 'delivered']);

    // Everything the receivers saw is a secret too (tokens, refreshed tokens, basic header).
    for (const r of receiver.requests) {
      const auth = r.headers.authorization;
      if (typeof auth === 'string') secrets.set(auth.replace(/^(Bearer|Basic) /, ''), '');
    }
    const refreshed = (await core.store.connections.load(acId))!.tokens!;
    assert.notEqual(refreshed.access_token, firstTokens.access_token, 'the authorization-code token was refreshed');
    secrets.set(refreshed.access_token, '');
    secrets.set(refreshed.refresh_token!, '');

    await call('list connections', 'GET', '/v1/connections', token);
    await call('list destinations', 'GET', '/v1/destinations', token);
    await call('list deliveries', 'GET', '/v1/deliveries', token);

    // 1. Temporal history: the raw bytes as stored, and every payload decoded.
    // As the codec endpoint does: the server's own payloads (markers, search attributes) are plaintext.
    const codec = createEncryptionCodec(core.keyRing, { passPlaintext: true, callKeys: createCallKeys({ calls: core.store.calls, ttlMs: 0 }) });
    let decodedText = '';
    for (const id of ids) {
      const history = await client.workflow.getHandle(id).fetchHistory();
      const raw = Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
      for (const [value] of secrets) assert.equal(raw.indexOf(value), -1, `raw history of ${id} contains a secret`);
      for (const p of payloadsIn(history)) {
        const [plain] = await codec.decode([p]);
        decodedText += `${JSON.stringify(defaultPayloadConverter.fromPayload(plain!))}\n`;
      }
    }
    assert.match(decodedText, /\[redacted\]/, 'the decoded history holds the attempt records');
    assert.match(decodedText, /oauth2_invalid_client/, 'including the failed one');
    for (const [value] of secrets) assert.ok(!decodedText.includes(value), 'decoded history contains a secret');

    // 2. Logs of this run.
    assert.ok(appLogs.some((l) => l.includes('request completed') && l.includes('"statusCode"') && l.includes('"url"')), 'the API logged its requests');
    assert.ok(!appLogs.some((l) => l.includes('incoming request')), 'one line per request, written with the answer');
    assert.ok(appLogs.length > 20);
    const logs = [...appLogs, ...temporalLogs].join('\n');
    for (const [value] of secrets) assert.ok(!logs.includes(value), 'a log line contains a secret');

    // 3. API responses: only the one that created a secret shows it.
    for (const { label, text } of responses) {
      for (const [value, allowed] of secrets) assert.ok(!text.includes(value) || label === allowed, `the "${label}" response contains a secret it did not create`);
    }
    assert.ok(responses.some((r) => r.label === 'rotate' && r.text.includes(rotated.body.signing_secret)));
  });
});
