// Takes docs/images/temporal-ui-delivery.png: runs `npm start` (own data dir, spare API port), delivers one
// event to a loopback receiver, opens the delivery in the Temporal UI with headless Chromium and waits
// until the UI shows the payloads decrypted through the API's codec endpoint.
//
//   apt-get install -y chromium      # once
//   node --no-node-snapshot --import tsx bench/screenshot-temporal-ui.ts [out.png]
//
// `npm start` runs the Temporal dev server on the fixed ports 7233 (gRPC) and 8233 (UI): the script
// refuses to start while anything else listens there.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { freePort } from '../src/temporal/dev-server.ts';
import { callCompleted } from '../test/support/events.ts';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'docs', 'images', 'temporal-ui-delivery.png'));
const UI = 'http://127.0.0.1:8233';

const listening = (port: number) =>
  new Promise<boolean>((res) => {
    const s = connect({ port, host: '127.0.0.1' }, () => {
      s.destroy();
      res(true);
    });
    s.on('error', () => res(false));
  });

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function main(): Promise<void> {
  for (const port of [7233, 8233]) {
    if (await listening(port)) throw new Error(`port ${port} is in use (another \`npm start\`?): stop it first`);
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'voiceoi-screenshot-'));
  const profile = mkdtempSync(join(tmpdir(), 'voiceoi-chromium-'));
  const apiPort = await freePort();
  const api = `http://127.0.0.1:${apiPort}`;
  const admin = `admin-${randomBytes(16).toString('hex')}`;

  const receiver = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ crm_record: 'LEAD-884', status: 'updated' }));
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/crm/webhooks`;

  let server: ChildProcess | undefined;
  try {
    server = spawn('npm', ['start'], {
      cwd: root,
      env: { ...process.env, PORT: String(apiPort), VOICEOI_DATA_DIR: dataDir, VOICEOI_ADMIN_TOKEN: admin, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
      // Its own process group, so stopping it reaches npm, the server and the dev server it started.
      detached: true,
    });
    await until('the API', async () => (await fetch(`${api}/healthz`)).ok || undefined);
    const call = async (method: string, path: string, token: string, body?: unknown) => {
      const res = await fetch(api + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      const json = (await res.json()) as Record<string, any>;
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    };

    const account = await call('POST', '/v1/accounts', admin, { name: 'Sunrise Solar BPO' });
    // The receiver is on loopback, which only an operator opens (as in the README's quickstart).
    await call('PATCH', `/v1/accounts/${account.id}`, admin, { allowed_networks: ['127.0.0.1/32'] });
    await call('POST', '/v1/destinations', account.api_key, { url: receiverUrl, event_types: ['call_completed'], description: 'HubSpot bridge' });
    const eventId = `evt_${randomBytes(5).toString('hex')}`;
    const ingested = await call('POST', '/v1/events', account.api_key, {
      ...callCompleted(eventId, { call_id: 'call_7Q2M9' }),
      occurred_at: new Date().toISOString(),
    });
    const deliveryId = ingested.deliveries[0].id as string;
    const delivered = await until('the delivery', async () => {
      const d = await call('GET', `/v1/deliveries/${encodeURIComponent(deliveryId)}`, account.api_key);
      return d.status === 'delivered' ? d : undefined;
    });

    const context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1440, height: 1300 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const codecCalls: number[] = [];
      page.on('response', (r) => {
        if (r.url().startsWith(`${api}/codec/`)) codecCalls.push(r.status());
      });
      const url = `${UI}/namespaces/default/workflows/${encodeURIComponent(deliveryId)}/${delivered.workflow.run_id}/history`;
      await page.goto(url, { waitUntil: 'networkidle' });
      // The summary is only in the encrypted input: seeing it means the UI decoded it through /codec.
      await page.getByText('booked a site survey', { exact: false }).first().waitFor({ timeout: 60_000 });
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: out, fullPage: false });
      if (codecCalls.length === 0 || codecCalls.some((s) => s !== 200)) throw new Error(`unexpected codec answers: ${codecCalls.join(', ')}`);
      process.stdout.write(`saved ${out} (${codecCalls.length} codec calls from the UI, all 200)\n`);
    } finally {
      await context.close();
    }
  } finally {
    if (server?.pid) {
      const exited = new Promise((r) => server!.once('exit', r));
      process.kill(-server.pid, 'SIGINT');
      const timer = setTimeout(() => process.kill(-server!.pid!, 'SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
