// Takes the console screenshots in docs/images/ (console-*.png) against the real stack, with an account
// seeded through the public API: destinations (one auto-disabled by a 410), a TypeScript mapping with
// two versions, connections of every kind, and delivered and failed deliveries.
//
//   npm run build:console && node --no-node-snapshot --import tsx bench/screenshot-console.ts [out-dir]
//
// Each page is taken at 1280 px wide, the busiest ones at 1920 px too (…-1920.png).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { launchChromium } from '../test/support/chromium.ts';
import { callCompleted } from '../test/support/events.ts';
import { startReceiver } from '../test/support/receiver.ts';
import { settled } from '../test/support/stack.ts';
import { providersEnv } from '../test/connections/support/flows.ts';
import { startOAuthServer } from '../test/connections/support/oauth-server.ts';
import { signIn, startConsoleStack } from './console.ts';

const root = resolve(import.meta.dirname, '..');
const out = resolve(process.argv[2] ?? join(root, 'docs', 'images'));

async function main() {
  const oauth = await startOAuthServer();
  const cs = await startConsoleStack({ VOICEOI_OAUTH2_PROVIDERS: providersEnv(oauth) });
  const receiver = await startReceiver((req) => {
    if (req.url.startsWith('/legacy')) return { status: 503, body: 'upstream dialer is down' };
    if (req.url.startsWith('/gone')) return { status: 410, body: 'this webhook was removed' };
    return { status: 201, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'LEAD-884', status: 'updated' }) };
  });
  const { stack, apiKey } = cs;
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await stack.call(method, path, { token: apiKey, body });
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
  try {
    const hubspot = readFileSync(join(root, 'sandboxes/examples/hubspot-call-engagement.ts'), 'utf8');
    const mapping = await call('POST', '/v1/mappings', { name: 'HubSpot call engagement', language: 'typescript', source: hubspot.replace("'COMPLETED'", "'IN_PROGRESS'") });
    await call('PUT', `/v1/mappings/${mapping.id}`, { source: hubspot });
    await call('POST', '/v1/mappings', { name: 'Dialer callback queue', language: 'jsonata', source: readFileSync(join(root, 'sandboxes/examples/filter-short-calls.jsonata'), 'utf8') });
    const headers = await call('POST', '/v1/connections', { kind: 'headers', name: 'HubSpot private app', headers: { authorization: 'Bearer pat-na1-0000', 'x-portal': '884' } });
    await call('POST', '/v1/connections', { kind: 'basic', name: 'Legacy dialer', username: 'voiceoi', password: 'hunter2' });
    await call('POST', '/v1/connections', { kind: 'oauth2_client_credentials', name: 'Salesforce (machine)', token_url: oauth.tokenUrl, client_id: oauth.clients.basic.id, client_secret: oauth.clients.basic.secret, scope: 'crm.write' });
    await call('POST', '/v1/connections', { kind: 'oauth2_authorization_code', name: 'Zoho CRM (user)', provider: 'crm' });
    await call('POST', '/v1/destinations', {
      url: `${receiver.url}/crm/v3/hooks`,
      description: 'HubSpot bridge',
      event_types: ['call_completed', 'qualification_threshold_met'],
      mapping_id: mapping.id,
      connection_id: headers.id,
    });
    const legacy = await call('POST', '/v1/destinations', { url: `${receiver.url}/legacy/dialer`, description: 'Dialer callback queue', event_types: ['call_completed'], retry_schedule_s: [0, 1] });
    const gone = await call('POST', '/v1/destinations', { url: `${receiver.url}/gone/webhook`, description: 'Old Zapier hook', event_types: ['*'] });
    await call('POST', '/v1/destinations', { url: `${receiver.url}/bi/ingest`, description: 'BI warehouse (paused for maintenance)', event_types: ['transcript_completed'] });
    const paused = (await call('GET', '/v1/destinations')).items.find((d: { description: string }) => d.description.startsWith('BI'));
    await call('POST', `/v1/destinations/${paused.id}/pause`, {});

    const deliveries: string[] = [];
    for (const [i, lead] of ['884', '1021', '1307'].entries()) {
      const r = await call('POST', '/v1/events', { ...callCompleted(`evt_demo_${i + 1}`, { call_id: `call_7Q2M${i}`, lead_id: lead }), occurred_at: new Date().toISOString() });
      deliveries.push(...r.deliveries.map((d: { id: string }) => d.id));
    }
    for (const id of deliveries) await settled(stack, apiKey, id, 60_000);
    const failed = deliveries.find((d) => d.includes(legacy.id))!;

    await signIn(browser.context, stack.url, apiKey);
    const page = browser.page;
    const shot = async (name: string, widths: number[] = [1280]) => {
      for (const width of widths) {
        await page.setViewportSize({ width, height: width === 1280 ? 900 : 1080 });
        await page.waitForTimeout(300);
        const file = join(out, `console-${name}${width === 1280 ? '' : `-${width}`}.png`);
        await page.screenshot({ path: file });
        process.stdout.write(`saved ${file}\n`);
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    };
    const open = async (path: string, ready: (p: Page) => Promise<unknown>) => {
      await page.goto(stack.url + path);
      await ready(page);
      await page.waitForLoadState('networkidle');
    };

    await open('/console/destinations', (p) => p.getByText('HubSpot bridge').waitFor());
    await shot('destinations', [1280, 1920]);
    await open(`/console/destinations/${encodeURIComponent(gone.id)}`, (p) => p.getByRole('button', { name: 'Re-enable' }).waitFor());
    await shot('destination');
    await open(`/console/mappings/${encodeURIComponent(mapping.id)}`, (p) => p.getByLabel('Preview result').waitFor({ timeout: 60_000 }));
    await page.locator('.monaco-diff-editor').waitFor();
    await shot('mappings', [1280, 1920]);
    await open('/console/deliveries', (p) => p.getByRole('link', { name: /Delivery of evt_demo_3/ }).first().waitFor({ timeout: 30_000 }));
    await shot('deliveries', [1280, 1920]);
    await open(`/console/deliveries/${encodeURIComponent(failed)}`, (p) => p.getByRole('listitem', { name: 'Attempt 2' }).waitFor());
    await shot('delivery', [1280, 1920]);
    await open('/console/connections', (p) => p.getByText('Zoho CRM (user)').first().waitFor());
    await shot('connections');
    await open('/console/event-types', (p) => p.getByText('call_completed').first().waitFor());
    await page.getByRole('button', { name: 'Show schema and sample' }).nth(7).click();
    await shot('event-types');
    await browser.context.clearCookies();
    await open('/console', (p) => p.getByLabel('API key').waitFor());
    await shot('sign-in');
  } finally {
    await browser.close();
    await cs.stop();
    await receiver.close();
    await oauth.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
