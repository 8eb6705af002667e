import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { consoleReturnPath } from '../../src/routes/console.ts';
import { Browser } from '../connections/support/browser.ts';
import { providersEnv } from '../connections/support/flows.ts';
import { startOAuthServer, type OAuthServer } from '../connections/support/oauth-server.ts';
import { signIn, type ConsoleSession } from '../support/console-session.ts';
import { startStack, type Stack } from '../support/stack.ts';

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; worker-src 'self' blob:; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
const INDEX = '<!doctype html><html><head><script type="module" src="/console/assets/index-3f9a1c.js"></script></head><body><div id="root"></div></body></html>';

describe('the console: served at /console by the API, and its OAuth2 connect flow', () => {
  let stack: Stack;
  let oauth: OAuthServer;
  let dist: string;
  before(async () => {
    oauth = await startOAuthServer();
    // Starts unbuilt: the fixture build is written by the first tests.
    dist = mkdtempSync(join(tmpdir(), 'voiceoi-console-dist-'));
    stack = await startStack({ VOICEOI_CONSOLE_DIR: dist, VOICEOI_OAUTH2_PROVIDERS: providersEnv(oauth) }, { worker: false });
  });
  after(async () => {
    await stack.stop();
    await oauth.close();
    rmSync(dist, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(stack.url + path, { headers, redirect: 'manual' });

  test('before the build exists, /console answers 503 console_not_built with the command to run', async () => {
    for (const path of ['/console', '/console/', '/console/destinations', '/console/assets/index-3f9a1c.js']) {
      const r = await get(path);
      assert.equal(r.status, 503, path);
      assert.deepEqual(await r.json(), { code: 'console_not_built', message: 'run npm run build:console' });
    }
  });

  test('once built, /console and every client-side route get index.html, never cached, under a strict CSP', async () => {
    mkdirSync(join(dist, 'assets'));
    writeFileSync(join(dist, 'index.html'), INDEX);
    writeFileSync(join(dist, 'assets', 'index-3f9a1c.js'), 'console.log("console")');
    writeFileSync(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    for (const path of ['/console', '/console/', '/console/destinations', '/console/deliveries/dlv_123?status=failed', '/console/mappings/map_1/versions']) {
      const r = await get(path);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get('content-type') ?? '', /^text\/html/, path);
      assert.equal(await r.text(), INDEX, path);
      assert.equal(r.headers.get('cache-control'), 'no-cache', path);
      assert.equal(r.headers.get('content-security-policy'), CSP, path);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
    }
  });

  test('the API docs (/docs, Swagger UI on the same origin) get the same policy: no framing, scripts from this origin only', async () => {
    const page = await get('/docs/');
    assert.equal(page.status, 200);
    const html = await page.text();
    const script = /src="([^"]*swagger-ui-bundle\.js)"/.exec(html)?.[1];
    assert.ok(script, 'the page loads the Swagger UI bundle');
    for (const path of ['/docs', '/docs/', new URL(script, `${stack.url}/docs/`).pathname, '/docs/static/index.css', '/docs/json']) {
      const r = await get(path);
      assert.ok(r.status < 400, `${path}: ${r.status}`);
      assert.equal(r.headers.get('content-security-policy'), CSP, path);
      assert.equal(r.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(r.headers.get('x-frame-options'), 'DENY', path);
    }
  });

  test('hashed assets are cached for a year; other files revalidate; a missing file is 404, not index.html', async () => {
    const js = await get('/console/assets/index-3f9a1c.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(js.headers.get('content-security-policy'), CSP);
    assert.equal(await js.text(), 'console.log("console")');

    const icon = await get('/console/favicon.svg');
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get('cache-control'), 'no-cache');

    const missing = await get('/console/assets/index-000000.js');
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: string }).code, 'route_not_found');
  });

  test('no path reaches a file outside the build', async () => {
    writeFileSync(join(dist, '..', 'voiceoi-console-secret.txt'), 'outside');
    try {
      for (const path of ['/console/../voiceoi-console-secret.txt', '/console/..%2fvoiceoi-console-secret.txt', '/console/assets/..%2f..%2fvoiceoi-console-secret.txt', '/console/%2e%2e/voiceoi-console-secret.txt']) {
        const r = await get(path);
        assert.notEqual(await r.text(), 'outside', path);
        assert.ok(r.status === 403 || r.status === 404 || r.status === 400, `${path}: ${r.status}`);
      }
    } finally {
      rmSync(join(dist, '..', 'voiceoi-console-secret.txt'), { force: true });
    }
  });

  test('return_to accepts only paths under /console', () => {
    for (const ok of ['/console', '/console/connections/con_1', '/console/connections?tab=oauth#x']) assert.equal(consoleReturnPath(ok), ok);
    assert.equal(consoleReturnPath('/console/a/../b'), '/console/b');
    for (const bad of [
      'https://evil.example/console', '//evil.example/console', '/\\evil.example', '\\\\evil.example', 'javascript:alert(1)',
      '/v1/destinations', '/consolex', '/console/../v1/destinations', '/console/%2e%2e/v1', 'console/connections', '/console\n/x', '', ' /console',
    ]) {
      assert.equal(consoleReturnPath(bad), undefined, bad);
    }
  });

  describe('connecting an authorization-code connection from the console (session, no bearer header)', () => {
    let session: ConsoleSession;
    let connectionId: string;
    before(async () => {
      session = await signIn(stack, (await stack.createAccount('Console BPO')).api_key);
      const c = await stack.call('POST', '/v1/connections', { headers: session.headers, body: { kind: 'oauth2_authorization_code', name: 'CRM (user)', provider: 'crm' } });
      assert.equal(c.status, 201, JSON.stringify(c.body));
      connectionId = c.body.id;
    });

    /** The browser of the signed-in console user, navigating from the console page. */
    const consoleBrowser = () => {
      const b = new Browser();
      b.cookies(stack.url).set('voiceoi_session', session.id);
      return b;
    };
    const startPath = (returnTo?: string) =>
      `/v1/connections/${connectionId}/oauth2/start${returnTo === undefined ? '' : `?return_to=${encodeURIComponent(returnTo)}`}`;

    test('Connect: start with the session → consent at the provider → back in the console, connected', async () => {
      const browser = consoleBrowser();
      const start = await browser.request(stack.url + startPath(`/console/connections/${connectionId}`), { headers: { 'sec-fetch-site': 'same-origin' } });
      assert.equal(start.status, 302, await start.text());
      const callback = await browser.authorize(start.headers.get('location')!, 'alice', `${stack.url}/v1/oauth2/callback`);
      const back = await browser.request(callback);
      assert.equal(back.status, 302);
      const location = new URL(back.headers.get('location')!, stack.url);
      assert.equal(location.origin, stack.url, 'back on the API’s own origin');
      assert.equal(location.pathname, `/console/connections/${connectionId}`);
      assert.equal(location.searchParams.get('oauth2'), 'connected');
      assert.equal(location.searchParams.get('connection_id'), connectionId);
      const conn = await stack.call('GET', `/v1/connections/${connectionId}`, { headers: session.cookie });
      assert.equal(conn.body.status, 'connected');
    });

    test('a refused consent also returns to the console, with the error code', async () => {
      const browser = consoleBrowser();
      const start = await browser.request(stack.url + startPath('/console/connections'));
      assert.equal(start.status, 302);
      const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
      const back = await browser.request(`${stack.url}/v1/oauth2/callback?state=${encodeURIComponent(state)}&error=access_denied`);
      assert.equal(back.status, 302);
      const location = new URL(back.headers.get('location')!, stack.url);
      assert.equal(location.pathname, '/console/connections');
      assert.equal(location.searchParams.get('oauth2_error'), 'oauth2_authorization_denied');
      assert.equal(location.searchParams.get('connection_id'), connectionId);
    });

    test('return_to that is not a /console path is refused 400 before anything starts', async () => {
      for (const bad of ['https://evil.example/console', '//evil.example', '/v1/destinations', '/console/../v1/destinations', '/\\evil.example']) {
        const r = await stack.call('GET', startPath(bad), { headers: session.cookie });
        assert.equal(r.status, 400, bad);
        assert.equal(r.body.code, 'validation_error', bad);
        assert.match(r.body.message, /return_to/, bad);
        assert.equal(r.headers.get('location'), null, bad);
      }
    });

    test('a link on another site cannot start a consent riding the session', async () => {
      const r = await consoleBrowser().request(stack.url + startPath('/console/connections'), { headers: { 'sec-fetch-site': 'cross-site' } });
      assert.equal(r.status, 403);
      assert.equal(((await r.json()) as { code: string }).code, 'csrf_failed');
      const signedOut = await new Browser().request(stack.url + startPath('/console/connections'));
      assert.equal(signedOut.status, 401, 'no session, no bearer: refused');
    });
  });
});
