import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, type Chromium } from '../support/chromium.ts';
import { callCompleted } from '../support/events.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { ensureConsoleBuilt } from './support/console-build.ts';

// A pull destination in the console, in a real Chromium against the real stack: created from the
// form, its page hands out a working EventSource snippet and the voiceoi listen command, and tails
// the stream live.

describe('a pull destination in the console', () => {
  let stack: Stack;
  let browser: Chromium;
  let page: Page;
  let apiKey: string;
  before(async () => {
    ensureConsoleBuilt();
    stack = await startStack({ VOICEOI_STREAM_HEARTBEAT_S: '1' });
    apiKey = (await stack.createAccount('Wallboard BPO')).api_key;
    browser = await launchChromium();
    page = browser.page;
    page.setDefaultTimeout(20_000);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('creates it, offers a snippet with a working token and the listen command, and tails new messages', async () => {
    await page.goto(`${stack.url}/console`);
    await page.getByLabel('API key').fill(apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'New destination' }).click();
    await page.getByLabel('Mode').selectOption('pull');
    assert.equal(await page.getByLabel('URL').count(), 0, 'a pull destination has no URL field');
    await page.getByLabel('Stream origins').fill('https://wallboard.example.com');
    await page.getByLabel('call_completed').check();
    await page.getByRole('button', { name: 'Create destination' }).click();
    await page.getByRole('heading', { name: 'Read this destination' }).waitFor();
    const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    const created = await stack.call('GET', `/v1/destinations/${id}`, { token: apiKey });
    assert.equal(created.body.mode, 'pull');
    assert.deepEqual(created.body.stream_origins, ['https://wallboard.example.com']);

    const listen = await page.getByLabel('voiceoi listen command').textContent();
    assert.match(listen ?? '', new RegExp(`npx voiceoi listen ${id} --forward-to http://localhost:4000/hook`));

    await page.getByRole('button', { name: 'Get EventSource snippet' }).click();
    const snippet = (await page.getByLabel('EventSource snippet').textContent()) ?? '';
    const url = /new EventSource\('([^']+)'\)/.exec(snippet)?.[1];
    assert.ok(url?.startsWith(`${stack.url}/v1/destinations/${id}/stream?token=vst_`), snippet);
    // The token in the snippet reads this destination, as the wallboard would.
    const token = new URL(url!).searchParams.get('token')!;
    assert.equal((await stack.call('GET', `/v1/destinations/${id}/messages?token=${token}`)).status, 200);

    await page.getByText('live', { exact: true }).waitFor();
    const r = await stack.call('POST', '/v1/events', { token: apiKey, body: callCompleted('evt_console_tail') });
    assert.equal(r.status, 202);
    await page.getByRole('link', { name: 'evt_console_tail' }).waitFor();
  });
});
