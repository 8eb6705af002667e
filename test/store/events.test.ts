import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openDatabase } from '../../src/store/db.ts';
import { createEventStore } from '../../src/store/events.ts';
import { testDatabase } from '../support/postgres.ts';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`on ${dialect}`, () => {
    test('event ids are deduplicated until the retention prune forgets them, and only those', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'voiceoi-events-'));
      const db = await openDatabase(await testDatabase(dialect, dir));
      try {
        const events = createEventStore({ db });
        const old = { event_id: 'evt_old', type: 'call_completed', received_at: '2026-01-01T00:00:00.000Z', deliveries: [{ id: 'delivery:dst_a:evt_old', destination_id: 'dst_a' }] };
        const recent = { ...old, event_id: 'evt_new', received_at: '2026-11-20T00:00:00.000Z', deliveries: [] };
        await events.claim('acc_1', old);
        await events.claim('acc_1', recent);
        // A duplicate gets the first record back, whatever it carries itself.
        const dup = await events.claim('acc_1', { ...old, received_at: '2026-11-27T00:00:00.000Z', deliveries: [] });
        assert.deepEqual(dup, old);
        // The same id in another account is another event.
        assert.deepEqual((await events.claim('acc_2', { ...old, deliveries: [] })).deliveries, []);

        assert.equal(await events.pruneBefore('2026-10-28T00:00:00.000Z'), 2);
        assert.deepEqual((await events.claim('acc_1', recent)).received_at, recent.received_at, 'recent ids are kept');
        const fresh = await events.claim('acc_1', { ...old, received_at: '2026-11-27T00:00:00.000Z', deliveries: [] });
        assert.equal(fresh.received_at, '2026-11-27T00:00:00.000Z', 'a pruned id is new again');
      } finally {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
