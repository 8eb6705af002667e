import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { launchChromium, type Chromium } from '../support/chromium.ts';
import { callCompleted } from '../support/events.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createPullDestination } from '../support/streams.ts';

// A wallboard page on another origin opens the live stream with EventSource and a stream token, in a
// real Chromium: CORS lets the destination's listed origin read it and no other.

/** What the page keeps on its global object (this file has no DOM types: the code runs in the page). */
interface Wallboard {
  got: { event_id: string }[];
  failed: number;
  opened: number;
  es: { close(): void; addEventListener(type: string, fn: (e: { data: string }) => void): void };
  EventSource: new (url: string) => Wallboard['es'];
}

/** A page server on its own loopback port: its own origin. */
async function pageOrigin(): Promise<{ origin: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>wallboard</title><body>wallboard</body>');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('a browser page reads a pull stream across origins', () => {
  let stack: Stack;
  let key: string;
  let browser: Chromium;
  let listed: { origin: string; server: Server };
  let unlisted: { origin: string; server: Server };
  before(async () => {
    stack = await startStack({ VOICEOI_STREAM_HEARTBEAT_S: '1' });
    key = (await stack.createAccount()).api_key;
    [listed, unlisted] = [await pageOrigin(), await pageOrigin()];
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    for (const p of [listed, unlisted]) p?.server.close();
    await stack?.stop();
  });

  /** Opens EventSource on the page; window.got collects the events' data, window.failed counts errors. */
  const openOn = async (origin: string, streamUrl: string) => {
    await browser.page.goto(origin);
    await browser.page.evaluate((url) => {
      const w = globalThis as unknown as Wallboard;
      w.got = [];
      w.failed = 0;
      w.opened = 0;
      w.es = new w.EventSource(url);
      w.es.addEventListener('open', () => w.opened++);
      w.es.addEventListener('error', () => w.failed++);
      w.es.addEventListener('call_completed', (e) => w.got.push(JSON.parse(e.data) as { event_id: string }));
    }, streamUrl);
  };
  const state = () =>
    browser.page.evaluate(() => {
      const w = globalThis as unknown as Wallboard;
      return { got: w.got.map((m) => m.event_id), failed: w.failed, opened: w.opened };
    });

  test('the listed origin reads the stream with a token; an unlisted origin is refused by CORS', async () => {
    const dest = await createPullDestination(stack, key, { stream_origins: [listed.origin] });
    const { token } = (await stack.call('POST', `/v1/destinations/${dest.id}/stream-tokens`, { token: key, body: { ttl_s: 300 } })).body;
    const streamUrl = `${stack.url}/v1/destinations/${dest.id}/stream?token=${token}`;

    await openOn(listed.origin, streamUrl);
    await browser.page.waitForFunction(() => (globalThis as unknown as Wallboard).opened > 0, undefined, { timeout: 10_000 });
    const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_wallboard') });
    assert.equal(r.status, 202);
    await browser.page.waitForFunction(() => (globalThis as unknown as Wallboard).got.length > 0, undefined, { timeout: 10_000 });
    assert.deepEqual((await state()).got, ['evt_wallboard']);
    await browser.page.evaluate(() => (globalThis as unknown as Wallboard).es.close());

    await openOn(unlisted.origin, streamUrl);
    await browser.page.waitForFunction(() => (globalThis as unknown as Wallboard).failed > 0, undefined, { timeout: 10_000 });
    await stack.call('POST', '/v1/events', { token: key, body: callCompleted('evt_wallboard_2') });
    await new Promise((res) => setTimeout(res, 1000));
    const refused = await state();
    assert.equal(refused.opened, 0, 'the browser never opened it');
    assert.deepEqual(refused.got, []);
    await browser.page.evaluate(() => (globalThis as unknown as Wallboard).es.close());
  });
});
