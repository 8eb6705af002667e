import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { codecUiEndpoint, resolveCodecUiSecret } from '../../src/admin-token.ts';
import { buildApi } from '../../src/runtime.ts';
import { freePort, startDevServer, type DevServer } from '../../src/temporal/dev-server.ts';
import { launchChromium, recordPage, type Chromium } from '../support/chromium.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';
import { createDestination } from '../support/resources.ts';

// What `npm start` wires (src/server.ts): a dev server whose UI has the install's secret codec URL,
// and the API serving it. The UI must still show the encrypted payloads in clear, through that URL
// alone: no token, and no Origin taken as a credential.
describe('the dev Temporal UI shows payloads decrypted through its secret codec URL', () => {
  let dev: DevServer;
  let stack: Stack;
  let api: FastifyInstance;
  let receiver: Receiver;
  let browser: Chromium;
  let apiBase: string;
  const dataDir = mkdtempSync(join(tmpdir(), 'voiceoi-codec-ui-'));

  before(async () => {
    const apiPort = await freePort();
    apiBase = `http://127.0.0.1:${apiPort}`;
    dev = await startDevServer({
      namespace: 'default',
      uiPort: await freePort(),
      codecEndpoint: codecUiEndpoint(apiBase, resolveCodecUiSecret(dataDir)),
      log: () => undefined,
    });
    // This file's stack runs on the dev server whose UI it opens (node --test runs each file in its own process).
    process.env.TEMPORAL_ADDRESS = dev.address;
    stack = await startStack({ VOICEOI_DATA_DIR: dataDir, VOICEOI_CODEC_ORIGINS: dev.uiUrl! });
    api = await buildApi(stack.core, stack.client);
    await api.listen({ port: apiPort, host: '127.0.0.1' });
    receiver = await startReceiver(() => ({ status: 200, body: '{"crm_record": "LEAD-884"}' }));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await api?.close();
    await stack?.stop();
    await receiver?.close();
    await dev?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the codec secret is in no process argument and in no file left behind; the UI still has its codec URL', async () => {
    const secret = resolveCodecUiSecret(dataDir);
    const cmdline = readFileSync(`/proc/${dev.pid}/cmdline`, 'utf8');
    assert.match(cmdline, /start-dev/);
    assert.ok(!cmdline.includes(secret), 'the secret is not in /proc/<pid>/cmdline');
    const args = cmdline.split('\0');
    const settingsFile = args[args.indexOf('--env-file') + 1]!;
    assert.ok(settingsFile && !existsSync(settingsFile), 'the settings file was removed once the server started');
    const settings = (await (await fetch(`${dev.uiUrl}/api/v1/settings`)).json()) as { Codec: { Endpoint: string } };
    assert.equal(settings.Codec.Endpoint, codecUiEndpoint(apiBase, secret));
  });

  test('the delivery\'s input is readable in the UI; every codec call it made went to the secret URL and succeeded', async () => {
    const account = await stack.createAccount();
    await createDestination(stack, account.api_key, { url: receiver.url });
    const marker = `survey-${randomBytes(4).toString('hex')}`;
    const ingested = await stack.call('POST', '/v1/events', { token: account.api_key, body: callCompleted(`evt_${randomBytes(4).toString('hex')}`, { summary: `booked a ${marker}` }) });
    const id = ingested.body.deliveries[0].id as string;
    const delivery = await settled<{ status: string; workflow: { run_id: string } }>(stack, account.api_key, id);
    assert.equal(delivery.status, 'delivered');

    const rec = await recordPage(browser.page);
    await browser.page.goto(`${dev.uiUrl}/namespaces/default/workflows/${encodeURIComponent(id)}/${delivery.workflow.run_id}/history`, { waitUntil: 'networkidle' });
    // The marker is only in the encrypted input: seeing it means the UI decoded it through the codec.
    await browser.page.getByText(marker, { exact: false }).first().waitFor({ timeout: 60_000 });
    const codecCalls = rec.responses.filter((r) => r.url.startsWith(`${apiBase}/codec/`));
    assert.ok(codecCalls.length > 0, 'the UI called the codec');
    const secretPrefix = codecUiEndpoint(apiBase, resolveCodecUiSecret(dataDir));
    for (const call of codecCalls) {
      assert.ok(call.url.startsWith(`${secretPrefix}/`), 'the UI calls its secret URL');
      assert.ok(call.status === 200 || call.status === 204, `codec answered ${call.status}`); // 204: a CORS preflight
    }
  });
});
