import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { startStack, type Stack } from './support/stack.ts';

// Two API replicas on one control-plane database: a guesser spreading its failed keys over both
// meets one limit, because the failures are counted in the database (src/store/key-failures.ts).

for (const database of ['sqlite', 'postgres'] as const) {
  describe(`failed API-key attempts are counted across API replicas (${database})`, () => {
    let first: Stack;
    let second: Stack;
    let key: string;
    const agents: Agent[] = [];
    before(async () => {
      const limits = { VOICEOI_AUTH_FAILURES_MAX: '3', VOICEOI_AUTH_FAILURES_WINDOW_S: '30' };
      first = await startStack(limits, { worker: false, database });
      // The same database (SQLite: the same data directory; PostgreSQL: the same URL and keys), another app.
      const shared: Record<string, string> = first.config.DATABASE_URL
        ? { DATABASE_URL: first.config.DATABASE_URL, VOICEOI_MASTER_KEYS: first.config.VOICEOI_MASTER_KEYS! }
        : { VOICEOI_DATA_DIR: first.config.VOICEOI_DATA_DIR };
      second = await startStack({ ...limits, ...shared, VOICEOI_ADMIN_TOKEN: first.adminToken }, { worker: false, database });
      key = (await first.createAccount()).api_key;
    });
    after(async () => {
      await second.stop();
      await first.stop();
      await Promise.all(agents.map((a) => a.close()));
    });

    const client = (stack: Stack, address: string) => {
      const dispatcher = new Agent({ localAddress: address });
      agents.push(dispatcher);
      return async (token: string) => {
        const res = await fetch(`${stack.url}/v1/destinations`, { headers: { authorization: `Bearer ${token}` }, dispatcher });
        return { status: res.status, body: (await res.json()) as { code: string } };
      };
    };

    test('failures counted by one API instance lock the address\'s wrong keys out of the other; valid keys and other addresses still get in', async () => {
      const address = database === 'sqlite' ? '127.0.0.6' : '127.0.0.7';
      const viaFirst = client(first, address);
      const viaSecond = client(second, address);
      assert.equal((await viaSecond(key)).status, 200, 'the second instance reads the same accounts');
      for (let i = 0; i < 3; i++) assert.equal((await viaFirst(`vk_guess_${i}`)).status, 401);
      const limited = await viaSecond('vk_guess_3');
      assert.equal(limited.status, 429, 'the fourth failure, on the other instance, is over the limit');
      assert.equal(limited.body.code, 'too_many_requests');
      assert.equal((await viaFirst('vk_guess_4')).status, 429, 'and on the first');
      assert.equal((await viaSecond(key)).status, 200, 'a valid key is judged on its own merits');
      assert.equal((await client(second, '127.0.0.8')(key)).status, 200);
    });
  });
}
