import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadKeyRing } from '../../src/crypto/keyring.ts';
import { startEventPrune, startStreamPrune } from '../../src/events/prune-job.ts';
import { openDatabase } from '../../src/store/db.ts';
import { createEventStore } from '../../src/store/events.ts';
import { createStore } from '../../src/store/index.ts';

test("the worker's prune job forgets event ids past the retention when it starts, and logs how many", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'voiceoi-prune-'));
  const db = await openDatabase({ file: join(dir, 'test.db') });
  try {
    const events = createEventStore({ db });
    const now = Date.parse('2026-11-27T00:00:00.000Z');
    const record = (id: string, at: string) => ({ event_id: id, type: 'call_completed', received_at: at, deliveries: [] });
    await events.claim('acc_1', record('evt_old', '2026-10-01T00:00:00.000Z'));
    await events.claim('acc_1', record('evt_new', '2026-11-26T00:00:00.000Z'));
    const lines: { level: string; obj: object; msg: string }[] = [];
    const log = { info: (obj: object, msg: string) => lines.push({ level: 'info', obj, msg }), warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj, msg }) };

    const job = startEventPrune({ events, retentionDays: 30, log, now: () => now });
    await job.first;
    await job.stop();

    assert.deepEqual(lines, [{ level: 'info', obj: { removed: 1, cutoff: '2026-10-28T00:00:00.000Z' }, msg: 'pruned event ids past the retention' }]);
    assert.equal((await events.claim('acc_1', record('evt_old', '2026-11-27T00:00:00.000Z'))).received_at, '2026-11-27T00:00:00.000Z', 'the old id is new again');
    assert.equal((await events.claim('acc_1', record('evt_new', '2026-11-27T00:00:00.000Z'))).received_at, '2026-11-26T00:00:00.000Z', 'the recent id is kept');
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed prune is logged as a warning and the job keeps its schedule until stopped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'voiceoi-prune-'));
  const db = await openDatabase({ file: join(dir, 'test.db') });
  const events = createEventStore({ db });
  // A closed database: every prune fails, as one would while the file is unreadable.
  await db.destroy();
  try {
    const lines: string[] = [];
    const log = { info: (_: object, msg: string) => lines.push(`info ${msg}`), warn: (_: object, msg: string) => lines.push(`warn ${msg}`) };
    const job = startEventPrune({ events, retentionDays: 30, log, everyMs: 20 });
    await job.first;
    await new Promise((resolve) => setTimeout(resolve, 100));
    await job.stop();
    const runs = lines.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.ok(runs >= 2, `ran again on schedule after a failure (${runs} runs)`);
    assert.equal(lines.length, runs, 'stop() ends the schedule');
    assert.ok(lines.every((l) => l === 'warn pruning old event ids failed; will try again'), lines.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the stream prune removes pull messages past their account's retention (its own, else the install's), and remembers the last cursor removed", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'voiceoi-prune-'));
  const store = await createStore({ file: join(dir, 'test.db'), keyRing: loadKeyRing({ dataDir: dir }) });
  try {
    const short = await store.accounts.create('Short retention BPO');
    const long = await store.accounts.create('Default retention BPO');
    assert.equal(await store.accounts.setStreamRetention(short.id, 1), true);
    const dests = await Promise.all([short, long].map((a) => store.destinations.create(a.id, { url: '', mode: 'pull', event_types: ['*'] })));
    for (const [i, d] of dests.entries()) {
      await store.messages.append({
        accountId: [short, long][i]!.id,
        destinationId: d.id,
        deliveryId: `delivery:${d.id}:evt_1`,
        eventId: 'evt_1',
        eventType: 'call_completed',
        headers: { 'webhook-id': 'evt_1', 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' },
        body: '{}',
      });
    }
    const lines: string[] = [];
    const log = { info: (obj: object, msg: string) => lines.push(`${msg} ${JSON.stringify(obj)}`), warn: (_: object, msg: string) => lines.push(msg) };
    // Two hours on: past the short account's 1 h, well inside the install's 72 h.
    const job = startStreamPrune({ messages: store.messages, defaultHours: 72, log, now: () => Date.now() + 2 * 3_600_000 });
    await job.first;
    await job.stop();
    assert.deepEqual(lines, ['pruned pull messages past their retention {"removed":1}']);
    assert.deepEqual(await store.messages.after(dests[0]!.id, '0', 10), []);
    assert.deepEqual(await store.messages.position(dests[0]!.id), { last: '1', prunedThrough: '1' });
    assert.equal((await store.messages.after(dests[1]!.id, '0', 10)).length, 1);
    assert.deepEqual(await store.messages.position(dests[1]!.id), { last: '1', prunedThrough: '0' });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
