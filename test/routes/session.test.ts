import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startApi, type TestApi } from '../support/api.ts';
import { signIn, type ConsoleSession } from '../support/console-session.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const destination = { url: 'http://127.0.0.1:9/hook', event_types: ['call_completed'] };

describe('console sessions: sign-in, cookies, CSRF, revocation', () => {
  let stack: TestApi;
  let account: { id: string; api_key: string };
  before(async () => {
    // Loopback stands in for a TLS-terminating proxy, so X-Forwarded-Proto is believed.
    stack = await startApi({ VOICEOI_TRUSTED_PROXIES: '127.0.0.1' });
    account = await stack.createAccount('Session BPO');
  });
  after(() => stack.stop());

  const destinations = async () => (await stack.call('GET', '/v1/destinations', { token: account.api_key })).body.items as unknown[];

  test('signing in with the API key sets an HttpOnly, SameSite=Lax, Path=/ cookie, Secure only over https', async () => {
    const s = await signIn(stack, account.api_key);
    const attrs = s.setCookie.split(';').map((a) => a.trim().toLowerCase());
    assert.ok(attrs.includes('httponly'), s.setCookie);
    assert.ok(attrs.includes('samesite=lax'), s.setCookie);
    assert.ok(attrs.includes('path=/'), s.setCookie);
    assert.ok(!attrs.includes('secure'), 'no Secure over plain http (the browser would drop it)');
    assert.ok(attrs.some((a) => a.startsWith('max-age=')), s.setCookie);
    assert.ok(s.id.length >= 40 && !s.id.includes(account.api_key), 'an opaque random id, not the key');

    // Behind a TLS-terminating proxy the request is https.
    const tls = await stack.call('POST', '/v1/session', { body: { api_key: account.api_key }, headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(tls.status, 204);
    const line = tls.headers.getSetCookie().find((c) => c.startsWith('voiceoi_session='))!;
    assert.ok(line.split(';').map((a) => a.trim().toLowerCase()).includes('secure'), line);
  });

  test('a wrong key, the admin token or no key gets 401/400 and no cookie', async () => {
    for (const api_key of ['vk_not-a-key', stack.adminToken]) {
      const r = await stack.call('POST', '/v1/session', { body: { api_key } });
      assert.equal(r.status, 401);
      assert.equal(r.body.code, 'unauthorized');
      assert.deepEqual(r.headers.getSetCookie(), []);
      assert.equal(JSON.stringify(r.body).includes(api_key), false, 'the rejected key is not echoed');
    }
    const empty = await stack.call('POST', '/v1/session', { body: {} });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.code, 'validation_error');
  });

  test('GET /v1/session tells the page its account, CSRF token and end; without a live session it is 401', async () => {
    const s = await signIn(stack, account.api_key);
    const r = await stack.call('GET', '/v1/session', { headers: s.cookie });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.account, { id: account.id, name: 'Session BPO' });
    assert.equal(r.body.csrf_token, s.csrf);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const left = Date.parse(r.body.expires_at) - Date.now();
    assert.ok(left > 29 * 60_000 && left <= 30 * 60_000, `idle end 30 min ahead, got ${left} ms`);
    assert.equal(JSON.stringify(r.body).includes(account.api_key), false, 'the key is never handed back');

    assert.equal((await stack.call('GET', '/v1/session')).status, 401);
    assert.equal((await stack.call('GET', '/v1/session', { token: account.api_key })).status, 401);
    const forged = await stack.call('GET', '/v1/session', { headers: { cookie: `voiceoi_session=${randomBytes(32).toString('base64url')}` } });
    assert.equal(forged.status, 401);
    assert.equal(forged.body.code, 'unauthorized');
  });

  test('account routes accept the session: reads as is, writes with Origin and x-csrf-token', async () => {
    const s = await signIn(stack, account.api_key);
    const before = (await destinations()).length;
    assert.equal((await stack.call('GET', '/v1/destinations', { headers: s.cookie })).status, 200);
    const created = await stack.call('POST', '/v1/destinations', { headers: s.headers, body: destination });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal((await destinations()).length, before + 1);
    const removed = await stack.call('DELETE', `/v1/destinations/${created.body.id}`, { headers: s.headers });
    assert.ok(removed.status === 204 || removed.status === 200, String(removed.status));
  });

  test('the bearer key still works, with no CSRF check, and wins over a cookie', async () => {
    const r = await stack.call('POST', '/v1/destinations', { token: account.api_key, body: destination, headers: { origin: 'https://evil.example' } });
    assert.equal(r.status, 201);
    const other = await stack.createAccount('Other BPO');
    const s = await signIn(stack, account.api_key);
    const both = await stack.call('GET', '/v1/destinations', { token: other.api_key, headers: s.cookie });
    assert.equal(both.status, 200);
    assert.deepEqual(both.body.items, [], 'the bearer account (empty) is used, not the session one');
  });

  test('admin routes never accept a session', async () => {
    const s = await signIn(stack, account.api_key);
    const r = await stack.call('POST', '/v1/accounts', { headers: s.headers, body: { name: 'via session' } });
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'forbidden');
    const revokeAll = await stack.call('DELETE', `/v1/accounts/${account.id}/sessions`, { headers: s.headers });
    assert.equal(revokeAll.status, 403);
    assert.equal((await stack.call('GET', '/v1/session', { headers: s.cookie })).status, 200);
  });

  test('a cross-site POST riding the cookie is refused 403 csrf_failed and creates nothing', async () => {
    const s = await signIn(stack, account.api_key);
    const other = await signIn(stack, (await stack.createAccount('Third BPO')).api_key);
    const before = (await destinations()).length;
    const attempts: [string, Record<string, string>][] = [
      ['from another site, even with the token', { ...s.headers, origin: 'https://evil.example' }],
      ['from another site, the cookie alone', { ...s.cookie, origin: 'https://evil.example' }],
      ['without the x-csrf-token header', { ...s.cookie, origin: stack.url }],
      ['with another session’s token', { ...s.cookie, origin: stack.url, 'x-csrf-token': other.csrf }],
      ['without an Origin header', { ...s.cookie, 'x-csrf-token': s.csrf }],
      ['with Origin null', { ...s.cookie, origin: 'null', 'x-csrf-token': s.csrf }],
    ];
    for (const [what, headers] of attempts) {
      const r = await stack.call('POST', '/v1/destinations', { headers, body: destination });
      assert.equal(r.status, 403, what);
      assert.equal(r.body.code, 'csrf_failed', what);
    }
    assert.equal((await destinations()).length, before, 'nothing was created');
  });

  test('signing out needs the CSRF token, ends the session server-side and clears the cookie', async () => {
    const s = await signIn(stack, account.api_key);
    const forcedOut = await stack.call('DELETE', '/v1/session', { headers: { ...s.cookie, origin: 'https://evil.example' } });
    assert.equal(forcedOut.status, 403);
    assert.equal((await stack.call('GET', '/v1/session', { headers: s.cookie })).status, 200, 'a cross-site sign-out changed nothing');

    const out = await stack.call('DELETE', '/v1/session', { headers: s.headers });
    assert.equal(out.status, 204);
    const cleared = out.headers.getSetCookie().find((c) => c.startsWith('voiceoi_session='))!;
    assert.match(cleared, /^voiceoi_session=;/);
    assert.match(cleared, /Max-Age=0|Expires=Thu, 01 Jan 1970/i);

    // The id is dead even to a client that ignores the cleared cookie.
    assert.equal((await stack.call('GET', '/v1/session', { headers: s.cookie })).status, 401);
    const after = await stack.call('GET', '/v1/destinations', { headers: s.cookie });
    assert.equal(after.status, 401);
    assert.equal(after.body.code, 'unauthorized');
    assert.equal((await stack.call('POST', '/v1/destinations', { headers: s.headers, body: destination })).status, 401);
    assert.equal((await stack.call('DELETE', '/v1/session', { headers: s.cookie })).status, 204, 'signing out twice is harmless');
  });

  test('an admin ends every session of one account, and only that account', async () => {
    const victim = await stack.createAccount('Compromised BPO');
    const a = await signIn(stack, victim.api_key);
    const b = await signIn(stack, victim.api_key);
    const bystander = await signIn(stack, account.api_key);
    const r = await stack.call('DELETE', `/v1/accounts/${victim.id}/sessions`, { token: stack.adminToken });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { revoked: 2 });
    for (const s of [a, b]) assert.equal((await stack.call('GET', '/v1/destinations', { headers: s.cookie })).status, 401);
    assert.equal((await stack.call('GET', '/v1/destinations', { headers: bystander.cookie })).status, 200);
    assert.equal((await stack.call('DELETE', '/v1/accounts/acc_nope/sessions', { token: stack.adminToken })).status, 404);
  });

  test('the database keeps only a hash of the session id, and neither the id, the key nor the CSRF token', async () => {
    const s = await signIn(stack, account.api_key);
    const rows = await stack.core.store.db.selectFrom('sessions').selectAll().execute();
    assert.ok(rows.length > 0);
    const dump = JSON.stringify(rows);
    for (const secret of [s.id, account.api_key, s.csrf]) assert.equal(dump.includes(secret), false);
  });
});

describe('console sessions end when idle and at their absolute end; nothing secret is logged', () => {
  const IDLE_S = 2;
  const MAX_S = 8;
  const logs: string[] = [];
  let stack: TestApi;

  before(async () => {
    const env = { LOG_LEVEL: 'trace', VOICEOI_SESSION_IDLE_S: String(IDLE_S), VOICEOI_SESSION_MAX_S: String(MAX_S), VOICEOI_AUTH_FAILURES_MAX: '5' };
    stack = await startApi(env, { log: (line) => void logs.push(line) });
  });
  after(() => stack.stop());

  const alive = async (s: ConsoleSession) => (await stack.call('GET', '/v1/destinations', { headers: s.cookie })).status === 200;

  test(`a session used within ${IDLE_S} s stays; one left idle longer ends; none outlives ${MAX_S} s`, async () => {
    const key = (await stack.createAccount()).api_key;
    const t0 = Date.now();
    const [idle, busy] = [await signIn(stack, key), await signIn(stack, key)];

    // Both in use for longer than the idle time: the clock slides.
    while (Date.now() - t0 < IDLE_S * 1500) {
      assert.ok(await alive(idle), `idle-test session alive at ${Date.now() - t0} ms`);
      assert.ok(await alive(busy), `busy session alive at ${Date.now() - t0} ms`);
      await sleep(400);
    }
    // Left alone for longer than the idle time: gone, while the one in use stays.
    const idleFrom = Date.now();
    while (Date.now() - idleFrom < IDLE_S * 1000 + 600) {
      assert.ok(await alive(busy));
      await sleep(400);
    }
    assert.ok(Date.now() - t0 < MAX_S * 1000, 'the idle session ended before the absolute end could explain it');
    const gone = await stack.call('GET', '/v1/session', { headers: idle.cookie });
    assert.equal(gone.status, 401);

    // Kept busy, it still ends at its absolute end.
    while (Date.now() - t0 < MAX_S * 1000 - 800) {
      assert.ok(await alive(busy), `busy session alive at ${Date.now() - t0} ms`);
      await sleep(400);
    }
    await sleep(Math.max(0, MAX_S * 1000 + 300 - (Date.now() - t0)));
    assert.equal(await alive(busy), false, 'no session outlives VOICEOI_SESSION_MAX_S');
  });

  test('no log line holds an API key, a session id or a CSRF token', async () => {
    const key = (await stack.createAccount('Logged BPO')).api_key;
    const s = await signIn(stack, key);
    await stack.call('GET', '/v1/destinations', { headers: s.cookie });
    await stack.call('POST', '/v1/destinations', { headers: s.headers, body: destination });
    await stack.call('POST', '/v1/destinations', { headers: { ...s.headers, origin: 'https://evil.example' }, body: destination });
    await stack.call('POST', '/v1/session', { body: { api_key: `${key}x` } });
    await stack.call('DELETE', '/v1/session', { headers: s.headers });
    await stack.call('GET', '/v1/destinations', { headers: s.cookie });
    const all = logs.join('\n');
    assert.ok(logs.some((l) => l.includes('/v1/session')), 'the requests were logged');
    for (const secret of [key, s.id, s.csrf, stack.adminToken]) assert.equal(all.includes(secret), false);
  });

  // Last in this file: it leaves this client address locked out for the window.
  test('wrong keys at sign-in count towards the failed-key limit, like wrong bearer keys', async () => {
    const key = (await stack.createAccount('Guessed BPO')).api_key;
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await stack.call('POST', '/v1/session', { body: { api_key: `vk_guess-${i}` } })).status);
    assert.ok(codes.includes(429), `a guesser is stopped: ${codes.join(',')}`);
    const wrong = await stack.call('POST', '/v1/session', { body: { api_key: 'vk_guess-late' } });
    assert.equal(wrong.status, 429, 'a wrong key past the limit is refused');
    assert.equal(wrong.body.code, 'too_many_requests');
    // A valid key is judged on its own merits: an integrator behind the guesser's NAT still signs in.
    const right = await stack.call('POST', '/v1/session', { body: { api_key: key } });
    assert.equal(right.status, 204);
  });
});
