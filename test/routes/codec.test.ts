import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { after, before, describe, test } from 'node:test';
import proto from '@temporalio/proto';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { callCompleted } from '../support/events.ts';
import { ensureTemporalCli } from '../../src/temporal/cli.ts';
import { codecUiEndpoint, resolveCodecUiSecret } from '../../src/admin-token.ts';
import { buildApi, createCore } from '../../src/runtime.ts';
import { localActivityOf } from '../../src/temporal/raw-decode.ts';

const UI = 'http://temporal-ui.test:8233';
const b64 = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('base64');
const payloadJSON = (p: proto.temporal.api.common.v1.IPayload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, b64(v)])),
  data: b64(p.data),
});

describe('codec endpoint and encrypted history', () => {
  let stack: Stack;
  let receiver: Receiver;
  let apiKey: string;
  const secret = `lead said: call me on +1-555-${randomBytes(4).toString('hex')}`;
  let deliveryId: string;

  before(async () => {
    stack = await startStack({ VOICEOI_CODEC_ORIGINS: `${UI}/` });
    receiver = await startReceiver(() => ({ status: 200, body: `{"crm_note":"${secret} (echoed)"}` }));
    apiKey = (await stack.createAccount()).api_key;
    const dest = await stack.call('POST', '/v1/destinations', { token: apiKey, body: { url: receiver.url, event_types: ['call_completed'] } });
    assert.equal(dest.status, 201);
    const ingested = await stack.call('POST', '/v1/events', { token: apiKey, body: callCompleted(`evt_${randomBytes(4).toString('hex')}`, { summary: secret }) });
    assert.equal(ingested.status, 202);
    deliveryId = ingested.body.deliveries[0].id;
    await eventually(async () => (await stack.call('GET', `/v1/deliveries/${deliveryId}`, { token: apiKey })).body.status === 'delivered', 'delivered');
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  const rawHistory = async () => {
    // Straight from the frontend service: no data converter, no codec.
    const res = await stack.connection.workflowService.getWorkflowExecutionHistory({ namespace: stack.target.namespace, execution: { workflowId: deliveryId } });
    return res.history!;
  };

  test('the raw history holds no plaintext of the event or of the response', async () => {
    const history = await rawHistory();
    const bytes = Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
    assert.ok(history.events!.length > 5);
    assert.equal(bytes.indexOf(secret), -1, 'the event summary must not be readable in history');
    assert.equal(bytes.indexOf('crm_note'), -1, 'the recorded response body must not be readable in history');
    assert.equal(bytes.indexOf('"summary"'), -1);
    // But the plaintext did reach the receiver and the API (through the codec).
    assert.ok(receiver.requests[0]!.body.includes(secret));
    const view = await stack.call('GET', `/v1/deliveries/${deliveryId}`, { token: apiKey });
    assert.equal(view.body.attempts[0].response.body.includes(secret), true);
  });

  test('POST /codec/decode with the admin token decodes the history payloads', async () => {
    const history = await rawHistory();
    const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    // Activity results and local activities' markers (the first attempt is one), as the Temporal UI sends them.
    const completed = history.events!.flatMap((e) => [...(e.activityTaskCompletedEventAttributes?.result?.payloads ?? []), ...(localActivityOf(e)?.result ?? [])]);
    const res = await stack.call('POST', '/codec/decode', { token: stack.adminToken, body: { payloads: [input, ...completed].map(payloadJSON) } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const decoded = res.body.payloads.map((p: { metadata: Record<string, string>; data: string }) => ({
      encoding: Buffer.from(p.metadata.encoding!, 'base64').toString(),
      json: JSON.parse(Buffer.from(p.data, 'base64').toString()),
    }));
    assert.equal(decoded[0].encoding, 'json/plain');
    assert.equal(decoded[0].json.event.data.summary, secret);
    assert.ok(decoded.some((d: { json: { response?: { body: string } } }) => d.json.response?.body.includes(secret)), 'the attempt record decodes');
  });

  test('a wrong key id or a tampered payload is a clear error, not garbage', async () => {
    const history = await rawHistory();
    const input = payloadJSON(history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!);
    // The event has a call, so its payloads name a call key (test/erasure/): relabelled as a master key's.
    const { 'encryption-call-key-id': callKey, ...ringMetadata } = input.metadata;
    assert.ok(callKey);
    const wrongKey = { ...input, metadata: { ...ringMetadata, 'encryption-key-id': Buffer.from('retired-2024').toString('base64') } };
    const res = await stack.call('POST', '/codec/decode', { token: stack.adminToken, body: { payloads: [wrongKey] } });
    assert.equal(res.status, 422);
    assert.equal(res.body.code, 'unknown_key');
    assert.equal(res.body.key_id, 'retired-2024');
    assert.match(res.body.message, /key id "retired-2024".*not in the key ring.*VOICEOI_MASTER_KEYS/);

    const data = Buffer.from(input.data, 'base64');
    data[data.length - 1]! ^= 1;
    const tampered = await stack.call('POST', '/codec/decode', { token: stack.adminToken, body: { payloads: [{ ...input, data: data.toString('base64') }] } });
    assert.equal(tampered.status, 422);
    assert.equal(tampered.body.code, 'decrypt_failed');

    const junk = await stack.call('POST', '/codec/decode', { token: stack.adminToken, body: { payloads: [{ data: 'not base64!' }] } });
    assert.equal(junk.status, 400);
    assert.equal(junk.body.code, 'invalid_payloads');
  });

  test('encode then decode round-trips, and encoding hides the data', async () => {
    const plain = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from(JSON.stringify({ secret })).toString('base64') };
    const enc = await stack.call('POST', '/codec/encode', { token: stack.adminToken, body: { payloads: [plain] } });
    assert.equal(enc.status, 200);
    assert.equal(Buffer.from(enc.body.payloads[0].metadata.encoding, 'base64').toString(), 'binary/encrypted');
    assert.equal(Buffer.from(enc.body.payloads[0].data, 'base64').indexOf(secret), -1);
    const dec = await stack.call('POST', '/codec/decode', { token: stack.adminToken, body: enc.body });
    assert.deepEqual(dec.body.payloads[0], plain);
  });

  test('the temporal CLI shows the history decoded through the codec with the admin token (docs/guides/debug-a-delivery.md)', async () => {
    const cli = await ensureTemporalCli(() => undefined);
    const show = (...extra: string[]) =>
      promisify(execFile)(cli, ['workflow', 'show', '--address', stack.target.address, '--namespace', stack.target.namespace, '--workflow-id', deliveryId, '--output', 'json', ...extra], { maxBuffer: 32 * 1024 * 1024 });
    const input = (stdout: string) => {
      const p = JSON.parse(stdout).events[0].workflowExecutionStartedEventAttributes.input.payloads[0];
      return { encoding: Buffer.from(p.metadata.encoding, 'base64').toString(), data: Buffer.from(p.data ?? '', 'base64').toString() };
    };
    const decoded = input((await show('--codec-endpoint', `${stack.url}/codec`, '--codec-auth', `Bearer ${stack.adminToken}`)).stdout);
    assert.equal(decoded.encoding, 'json/plain');
    assert.equal(JSON.parse(decoded.data).event.data.summary, secret, 'the CLI shows the event in clear');
    const raw = input((await show()).stdout);
    assert.equal(raw.encoding, 'binary/encrypted', 'without the codec it stays encrypted');
    assert.ok(!raw.data.includes(secret));
  });

  test('the codec authenticates callers: the admin token, never an account key, never an Origin', async () => {
    const body = { payloads: [] };
    const anonymous = await stack.call('POST', '/codec/decode', { body });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, 'unauthorized');
    const account = await stack.call('POST', '/codec/decode', { token: apiKey, body });
    assert.equal(account.status, 403);
    // issue 10: a forged Origin (curl, or a header connection) is a claim, not an identity.
    for (const origin of [UI, 'http://127.0.0.1:8233', 'http://evil.test']) {
      const forged = await stack.call('POST', '/codec/decode', { body, headers: { origin } });
      assert.equal(forged.status, 401, origin);
      assert.equal(forged.headers.get('access-control-allow-origin'), null);
    }
    const admin = await stack.call('POST', '/codec/decode', { token: stack.adminToken, body });
    assert.equal(admin.status, 200);
  });

  test('the Temporal UI decodes through its secret codec URL; a wrong secret is refused whatever the Origin', async () => {
    const endpoint = codecUiEndpoint(stack.url, resolveCodecUiSecret(stack.config.VOICEOI_DATA_DIR));
    const uiPath = endpoint.slice(stack.url.length);
    const history = await rawHistory();
    const input = payloadJSON(history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!);

    // What the Temporal UI does from the browser: a preflight, then the POST with its namespace header.
    const preflight = await fetch(`${endpoint}/decode`, {
      method: 'OPTIONS',
      headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), UI);
    assert.equal(preflight.headers.get('access-control-allow-credentials'), 'true');
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /x-namespace/);
    const fromUi = await stack.call('POST', `${uiPath}/decode`, { body: { payloads: [input] }, headers: { origin: UI, 'x-namespace': 'default' } });
    assert.equal(fromUi.status, 200, JSON.stringify(fromUi.body));
    assert.equal(fromUi.headers.get('access-control-allow-origin'), UI);
    assert.equal(JSON.parse(Buffer.from(fromUi.body.payloads[0].data, 'base64').toString()).event.data.summary, secret);
    // CORS only decides which browser may read the answer: an origin not listed gets no CORS headers.
    const otherOrigin = await stack.call('POST', `${uiPath}/decode`, { body: { payloads: [] }, headers: { origin: 'http://evil.test' } });
    assert.equal(otherOrigin.status, 200);
    assert.equal(otherOrigin.headers.get('access-control-allow-origin'), null);
    const refusedPreflight = await fetch(`${endpoint}/decode`, { method: 'OPTIONS', headers: { origin: 'http://evil.test', 'access-control-request-method': 'POST' } });
    assert.equal(refusedPreflight.status, 403);
    // Errors reach the UI too (readable cross-origin), so it can show them.
    const badFromUi = await stack.call('POST', `${uiPath}/decode`, { raw: '{"payloads": 3}', headers: { origin: UI } });
    assert.equal(badFromUi.status, 400);
    assert.equal(badFromUi.headers.get('access-control-allow-origin'), UI);

    const wrong = `/codec/${randomBytes(32).toString('base64url')}`;
    for (const path of [`${wrong}/decode`, `${wrong}/encode`, `${uiPath.slice(0, -1)}/decode`]) {
      const res = await stack.call('POST', path, { body: { payloads: [input] }, headers: { origin: UI } });
      assert.equal(res.status, 401, path);
      assert.equal(res.body.code, 'unauthorized');
    }
    const wrongPreflight = await fetch(`${stack.url}${wrong}/decode`, { method: 'OPTIONS', headers: { origin: UI, 'access-control-request-method': 'POST' } });
    assert.equal(wrongPreflight.status, 401);
  });

  test('the codec UI secret is generated once per install, kept under the data dir', async () => {
    const a = resolveCodecUiSecret(stack.config.VOICEOI_DATA_DIR);
    assert.match(a, /^[A-Za-z0-9_-]{43}$/, '256 random bits');
    assert.equal(resolveCodecUiSecret(stack.config.VOICEOI_DATA_DIR), a);
    assert.equal(statSync(join(stack.config.VOICEOI_DATA_DIR, 'codec-ui-secret')).mode & 0o777, 0o600);
    assert.notEqual(a, stack.adminToken);
  });

  test('an unauthenticated caller is refused before its body is read (the body never finishes)', async () => {
    const { port } = new URL(stack.url);
    for (const [path, headers, status] of [
      ['/codec/decode', '', 401],
      ['/codec/decode', `authorization: Bearer ${apiKey}\r\n`, 403],
      [`/codec/${'x'.repeat(43)}/decode`, `origin: ${UI}\r\n`, 401],
    ] as const) {
      // Announces 8 MiB, sends 1 KiB and then nothing: an answer can only come from a check that
      // runs before the body is read.
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1');
        let got = '';
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`no answer to ${path} while its body was still coming`));
        }, 5000);
        socket.on('data', (c) => {
          got += c.toString();
          if (got.includes('\r\n\r\n')) {
            clearTimeout(timer);
            socket.destroy();
            resolve(got);
          }
        });
        socket.on('error', reject);
        socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${8 * 1024 * 1024}\r\n${headers}\r\n{"payloads": [${' '.repeat(1024)}`);
      });
      assert.match(answer, new RegExp(`^HTTP/1.1 ${status} `), path);
    }
  });

  test('the secret codec URL never reaches the logs', async () => {
    const lines: string[] = [];
    const core = await createCore(stack.config);
    core.logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const api = await buildApi(core, stack.client);
    try {
      const codecSecret = resolveCodecUiSecret(stack.config.VOICEOI_DATA_DIR);
      const ok = await api.inject({ method: 'POST', url: `/codec/${codecSecret}/decode`, payload: { payloads: [] }, headers: { origin: UI } });
      assert.equal(ok.statusCode, 200);
      const bad = await api.inject({ method: 'POST', url: `/codec/${codecSecret}/encode`, payload: '{"payloads": 3}', headers: { 'content-type': 'application/json' } });
      assert.equal(bad.statusCode, 400);
      for (const url of [`/codec/${codecSecret}`, `/codec/${codecSecret}/decode/`, `/codec/${codecSecret}/x/y?z=1`]) {
        const missing = await api.inject({ method: 'GET', url });
        assert.equal(missing.statusCode, 404, url);
        assert.equal(missing.json().code, 'route_not_found');
        assert.ok(!missing.body.includes(codecSecret), 'the 404 does not echo the secret');
      }
      await eventually(async () => lines.filter((l) => l.includes('request completed')).length >= 5, 'five access-log lines');
      assert.ok(lines.some((l) => l.includes('/codec/[redacted]/decode')), lines.join(''));
      assert.equal(lines.join('').indexOf(codecSecret), -1, 'the secret is in a log line');
    } finally {
      await api.close();
      await core.store.close();
      await core.engine.close();
    }
  });
});
