import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AttemptRecord } from '../../workflows/types.ts';
import { loadKeyRing } from '../../src/crypto/keyring.ts';
import { createDestinationHealth } from '../../src/delivery/destination-health.ts';
import { createFailingStreak, DISABLE_AFTER_FAILING_MS } from '../../src/delivery/failing-streak.ts';
import { createStore, type KyselyStore } from '../../src/store/index.ts';
import { testDatabase } from '../support/postgres.ts';

// The health step after each attempt (src/delivery/destination-health.ts) on a real store: attempts
// of many deliveries to one destination run at once, in one worker or in several, and a destination
// is disabled, and alerted about, once.

const gone = (): AttemptRecord => ({ n: 1, started_at: new Date().toISOString(), duration_ms: 3, verdict: 'gone', response: { status: 410, headers: {}, body: '', body_truncated: false } });
const serverError = (): AttemptRecord => ({ n: 1, started_at: new Date().toISOString(), duration_ms: 3, verdict: 'retry', response: { status: 500, headers: {}, body: '', body_truncated: false } });

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`destination health on ${dialect}`, () => {
    let dir: string;
    let store: KyselyStore;
    let accountId: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'voiceoi-health-'));
      const target = await testDatabase(dialect, dir);
      store = await createStore({ ...target, keyRing: loadKeyRing({ masterKeys: `k1:${randomBytes(32).toString('base64')}`, dataDir: dir }) });
      accountId = (await store.accounts.create('Acme BPO')).id;
    });
    after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    function health(now = () => new Date()) {
      const alerts: { destinationId: string; reason: string }[] = [];
      const streak = createFailingStreak({ streaks: store.failingStreaks, destinations: store.destinations, now });
      const step = createDestinationHealth({
        destinations: store.destinations,
        streak,
        now,
        onDisabled: async (_account, destinationId, reason) => void alerts.push({ destinationId, reason }),
      });
      return { step, alerts };
    }

    test('ten 410 Gone answers at once disable the destination once, with one alert carrying the reason it holds', async () => {
      const d = await store.destinations.create(accountId, { url: 'https://crm.example/hook', event_types: ['*'] });
      // Two workers' health steps, as two worker processes hold them.
      const [a, b] = [health(), health()];
      await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).step.afterAttempt(accountId, d.id, gone())));
      const alerts = [...a.alerts, ...b.alerts];
      assert.equal(alerts.length, 1, JSON.stringify(alerts));
      const held = await store.destinations.get(accountId, d.id);
      assert.equal(held?.enabled, false);
      assert.equal(held?.disabled_reason, alerts[0]!.reason);
      assert.match(alerts[0]!.reason, /410 Gone/);
    });

    test('a 410 to a destination already disabled keeps the reason it holds and alerts no one', async () => {
      const d = await store.destinations.create(accountId, { url: 'https://crm.example/hook', event_types: ['*'] });
      const { step, alerts } = health();
      await step.afterAttempt(accountId, d.id, gone());
      const reason = (await store.destinations.get(accountId, d.id))?.disabled_reason;
      await new Promise((r) => setTimeout(r, 5));
      await step.afterAttempt(accountId, d.id, gone());
      assert.equal(alerts.length, 1);
      assert.equal((await store.destinations.get(accountId, d.id))?.disabled_reason, reason);
    });

    test('re-enabled by hand, a destination that answers 410 again is disabled and alerted again', async () => {
      const d = await store.destinations.create(accountId, { url: 'https://crm.example/hook', event_types: ['*'] });
      const { step, alerts } = health();
      await step.afterAttempt(accountId, d.id, gone());
      await store.destinations.update(accountId, d.id, { enabled: true });
      assert.equal((await store.destinations.get(accountId, d.id))?.disabled_reason, null);
      await step.afterAttempt(accountId, d.id, gone());
      assert.equal(alerts.length, 2);
      assert.equal((await store.destinations.get(accountId, d.id))?.enabled, false);
    });

    test('failures past 5 days from several attempts at once disable the destination once', async () => {
      const d = await store.destinations.create(accountId, { url: 'https://crm.example/hook', event_types: ['*'] });
      const start = Date.now();
      let clock = start;
      const now = () => new Date(clock);
      const [a, b] = [health(now), health(now)];
      await a.step.afterAttempt(accountId, d.id, serverError());
      clock = start + DISABLE_AFTER_FAILING_MS + 60_000;
      await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).step.afterAttempt(accountId, d.id, serverError())));
      const alerts = [...a.alerts, ...b.alerts];
      assert.equal(alerts.length, 1, JSON.stringify(alerts));
      assert.match(alerts[0]!.reason, /every delivery failed for 5 days/);
      assert.equal((await store.destinations.get(accountId, d.id))?.enabled, false);
    });
  });
}
