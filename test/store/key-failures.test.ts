import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadKeyRing } from '../../src/crypto/keyring.ts';
import { createStore, type KyselyStore } from '../../src/store/index.ts';
import { testDatabase } from '../support/postgres.ts';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`failed-key counts on ${dialect}`, () => {
    let dir: string;
    let one: KyselyStore;
    let other: KyselyStore;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'voiceoi-key-failures-'));
      const database = await testDatabase(dialect, dir);
      const keyRing = loadKeyRing({ masterKeys: `k1:${randomBytes(32).toString('base64')}`, dataDir: dir });
      one = await createStore({ ...database, keyRing });
      // A second process's handle on the same database.
      other = await createStore({ ...database, keyRing });
    });
    after(async () => {
      await other.close();
      await one.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('a window opens at the first failure, counts until it ends, and the next failure opens a new one', async () => {
      const t0 = 1_700_000_000_000;
      assert.equal(await one.keyFailures.read('a', 1000, t0), undefined);
      assert.deepEqual(await one.keyFailures.record('a', 1000, t0), { failures: 1, windowEndsMs: t0 + 1000 });
      assert.deepEqual(await other.keyFailures.record('a', 1000, t0 + 500), { failures: 2, windowEndsMs: t0 + 1000 });
      assert.deepEqual(await other.keyFailures.read('a', 1000, t0 + 999), { failures: 2, windowEndsMs: t0 + 1000 });
      assert.equal(await one.keyFailures.read('a', 1000, t0 + 1000), undefined, 'the window ended');
      assert.deepEqual(await one.keyFailures.record('a', 1000, t0 + 1200), { failures: 1, windowEndsMs: t0 + 2200 });
    });

    test('failures recorded at once through two handles are all counted', async () => {
      const now = Date.now();
      const counts = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? one : other).keyFailures.record('race', 60_000, now)));
      assert.deepEqual(counts.map((c) => c.failures).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
    });

    test('the prune deletes ended windows only', async () => {
      const t0 = 1_800_000_000_000;
      await one.keyFailures.record('old', 1000, t0);
      await one.keyFailures.record('young', 1000, t0 + 900);
      assert.ok((await one.keyFailures.prune(1000, t0 + 1000)) >= 1);
      assert.equal(await one.keyFailures.read('old', 1000, t0), undefined);
      assert.equal((await one.keyFailures.read('young', 1000, t0 + 950))?.failures, 1);
    });
  });
}
