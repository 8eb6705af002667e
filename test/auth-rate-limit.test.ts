import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { callCompleted } from './support/events.ts';
import { eventually, startStack, type Stack } from './support/stack.ts';

describe('failed API-key attempts are limited per client address', () => {
  let stack: Stack;
  let key: string;
  const agents: Agent[] = [];
  before(async () => {
    stack = await startStack({ VOICEOI_AUTH_FAILURES_MAX: '3', VOICEOI_AUTH_FAILURES_WINDOW_S: '2' }, { worker: false });
    key = (await stack.createAccount()).api_key;
  });
  after(async () => {
    await stack.stop();
    await Promise.all(agents.map((a) => a.close()));
  });

  /** A client on its own loopback address (all of 127.0.0.0/8 reaches the API on 127.0.0.1). */
  const client = (address: string) => {
    const dispatcher = new Agent({ localAddress: address });
    agents.push(dispatcher);
    return async (token: string, headers: Record<string, string> = {}, init: { method?: string; path?: string; body?: unknown } = {}) => {
      const res = await fetch(`${stack.url}${init.path ?? '/v1/destinations'}`, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...headers },
        body: init.body ? JSON.stringify(init.body) : undefined,
        dispatcher,
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : {}) as { code: string; message: string }, retryAfter: res.headers.get('retry-after') };
    };
  };

  test('past the limit wrong keys from an address get 429 too_many_requests with Retry-After until the window ends; other addresses are unaffected', async () => {
    const guesser = client('127.0.0.2');
    const producer = client('127.0.0.3');
    for (let i = 0; i < 3; i++) assert.equal((await guesser(`vk_guess_${i}`)).status, 401);
    const limited = await guesser('vk_guess_3');
    assert.equal(limited.status, 429);
    assert.equal(limited.body.code, 'too_many_requests');
    assert.match(limited.body.message, /failed API-key attempts/);
    assert.ok(Number(limited.retryAfter) >= 1 && Number(limited.retryAfter) <= 2, `Retry-After: ${limited.retryAfter}`);
    assert.equal((await guesser('vk_guess_4')).status, 429);

    // A busy producer on another address, with a valid key, never meets the limit.
    const answers = await Promise.all(Array.from({ length: 20 }, () => producer(key)));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    // Only failures are counted: a request without a key is a 401, not a guess.
    const anonymous = client('127.0.0.4');
    for (let i = 0; i < 5; i++) assert.equal((await anonymous('', { authorization: '' })).status, 401);

    // Waiting out the window lets wrong keys be judged again (being refused does not extend it).
    const back = await eventually(async () => {
      const r = await guesser('vk_guess_5');
      return r.status === 401 ? r : undefined;
    }, 'the limit to end', 10_000, 250);
    assert.equal(back.body.code, 'unauthorized');
  });

  test('during a lock-out, a valid account key, the admin token, event ingest and console sign-in from the same address are judged on their own merits', async () => {
    const shared = client('127.0.0.6');
    for (let i = 0; i < 4; i++) await shared(`vk_nat_guess_${i}`);
    assert.equal((await shared('vk_nat_guess_x')).status, 429, 'the address is locked out');

    assert.equal((await shared(key)).status, 200, 'the account key lists destinations');
    assert.equal((await shared(stack.adminToken, {}, { method: 'POST', path: '/v1/accounts', body: { name: 'Behind the same NAT' } })).status, 201, 'the admin token creates an account');
    const ingest = await shared(key, {}, { method: 'POST', path: '/v1/events', body: callCompleted(`evt_nat_${Date.now()}`) });
    assert.equal(ingest.status, 202, JSON.stringify(ingest.body));
    const signIn = await shared('', { authorization: '' }, { method: 'POST', path: '/v1/session', body: { api_key: key } });
    assert.equal(signIn.status, 204);

    // Still locked for what is wrong: a wrong key and a wrong console sign-in.
    assert.equal((await shared('vk_nat_guess_y')).status, 429);
    assert.equal((await shared('', { authorization: '' }, { method: 'POST', path: '/v1/session', body: { api_key: 'vk_nat_guess_z' } })).status, 429);
  });

  test('X-Forwarded-For from a client that is not a trusted proxy does not change the counted address', async () => {
    const spoofer = client('127.0.0.5');
    for (let i = 0; i < 4; i++) await spoofer(`vk_spoof_${i}`, { 'x-forwarded-for': `198.51.100.${i}` });
    assert.equal((await spoofer('vk_spoof_x', { 'x-forwarded-for': '198.51.100.99' })).status, 429);
  });
});
