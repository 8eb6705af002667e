import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
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
    return async (token: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${stack.url}/v1/destinations`, { headers: { authorization: `Bearer ${token}`, ...headers }, dispatcher });
      return { status: res.status, body: (await res.json()) as { code: string; message: string }, retryAfter: res.headers.get('retry-after') };
    };
  };

  test('past the limit an address gets 429 too_many_requests with Retry-After, even for a valid key, until the window ends; other addresses and valid keys are unaffected', async () => {
    const guesser = client('127.0.0.2');
    const producer = client('127.0.0.3');
    for (let i = 0; i < 3; i++) assert.equal((await guesser(`vk_guess_${i}`)).status, 401);
    const limited = await guesser('vk_guess_3');
    assert.equal(limited.status, 429);
    assert.equal(limited.body.code, 'too_many_requests');
    assert.match(limited.body.message, /failed API-key attempts/);
    assert.ok(Number(limited.retryAfter) >= 1 && Number(limited.retryAfter) <= 2, `Retry-After: ${limited.retryAfter}`);
    // A right guess now would tell the guesser nothing: the key is not checked.
    assert.equal((await guesser(key)).status, 429);

    // A busy producer on another address, with a valid key, never meets the limit.
    const answers = await Promise.all(Array.from({ length: 20 }, () => producer(key)));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
    // Only failures are counted: a request without a key is a 401, not a guess.
    const anonymous = client('127.0.0.4');
    for (let i = 0; i < 5; i++) assert.equal((await anonymous('', { authorization: '' })).status, 401);

    // Waiting out the window lets the valid key in again (being refused does not extend it).
    const back = await eventually(async () => {
      const r = await guesser(key);
      return r.status === 200 ? r : undefined;
    }, 'the limit to end', 10_000, 250);
    assert.equal(back.status, 200);
  });

  test('X-Forwarded-For from a client that is not a trusted proxy does not change the counted address', async () => {
    const spoofer = client('127.0.0.5');
    for (let i = 0; i < 4; i++) await spoofer(`vk_spoof_${i}`, { 'x-forwarded-for': `198.51.100.${i}` });
    assert.equal((await spoofer('vk_spoof_x', { 'x-forwarded-for': '198.51.100.99' })).status, 429);
  });
});
