import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { callAt } from './support/api.ts';
import { callCompleted } from './support/events.ts';
import { createTestDatabase } from './support/postgres.ts';
import { startReceiver, type Receiver } from './support/receiver.ts';
import { startReplica, type ProductProcess } from './support/product-process.ts';
import { eventually } from './support/stack.ts';

// Three processes as an operator runs them (`npm start`, `npm run api`, `npm run worker`), each with
// its own data directory, share one PostgreSQL and one Temporal and nothing else. Only PostgreSQL can
// be shared, so this file has no SQLite variant.

const EVENTS = 200;
const EVERY_MS = 50; // 20 events a second for 10 s
const KILL_AT = EVENTS / 2;

type Outcome = { id: string; via: 'first' | 'replica'; status?: number; error?: string; delivery?: string; ms?: number };

/** The counter `name{class="2xx"}` from a Prometheus text exposition (0 when absent). */
function counter(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('replicas on one PostgreSQL and one Temporal', () => {
  const dirs: string[] = [];
  let receiver: Receiver;
  let first: ProductProcess;
  let apiReplica: ProductProcess;
  let workerReplica: ProductProcess;
  const adminToken = `admin-${randomBytes(16).toString('hex')}`;

  before(async () => {
    // Each answer takes two seconds, so the kill -9 of a worker lands on attempts in flight (a handful
    // at this rate; one or more in every run seen).
    receiver = await startReceiver(() => new Promise((r) => setTimeout(() => r({ status: 200 }), 2_000)));
    const shared = {
      DATABASE_URL: await createTestDatabase(),
      VOICEOI_MASTER_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      VOICEOI_ADMIN_TOKEN: adminToken,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? '',
      VOICEOI_TASK_QUEUE: `test-${randomBytes(6).toString('hex')}`,
      // The receiver is on loopback, which only the operator's allow-list opens.
      VOICEOI_ALLOWED_NETWORKS: '127.0.0.0/8',
      LOG_LEVEL: 'warn',
      // The operator's switch for a prebuilt workflow bundle: test/run.ts built one for every worker.
      ...(process.env.VOICEOI_TEST_BUNDLE ? { VOICEOI_WORKFLOW_BUNDLE: process.env.VOICEOI_TEST_BUNDLE } : {}),
    };
    assert.ok(shared.TEMPORAL_ADDRESS, 'TEMPORAL_ADDRESS is not set: run the tests with `npm test`');
    const own = () => {
      const dir = mkdtempSync(join(tmpdir(), 'voiceoi-replica-'));
      dirs.push(dir);
      // The console is not under test here: an empty directory, so no process starts a console build.
      return { VOICEOI_DATA_DIR: dir, VOICEOI_CONSOLE_DIR: dir };
    };
    // Started together: their migrations take turns on PostgreSQL's advisory lock.
    const started = await Promise.allSettled([
      startReplica('start', { ...shared, ...own() }),
      startReplica('api', { ...shared, ...own() }),
      startReplica('worker', { ...shared, ...own() }),
    ]);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      for (const s of started) if (s.status === 'fulfilled') await s.value.kill();
      throw (failed as PromiseRejectedResult).reason;
    }
    [first, apiReplica, workerReplica] = started.map((s) => (s as PromiseFulfilledResult<ProductProcess>).value) as [ProductProcess, ProductProcess, ProductProcess];
  });

  after(async () => {
    await Promise.all([first, apiReplica, workerReplica].map((r) => r?.kill()));
    await receiver?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const call = (base: string, method: string, path: string, token: string, body?: unknown) => callAt(base, method, path, { token, body });

  test('kill -9 of an API and a worker replica mid-stream loses no accepted event, and delivers none more than twice', async () => {
    // The first node's account key is the API replica's too: one control plane (the issue saw 401 here).
    const account = await call(first.url, 'POST', '/v1/accounts', adminToken, { name: 'Replica BPO' });
    assert.equal(account.status, 201, JSON.stringify(account.body));
    const key = account.body.api_key as string;
    const created = await call(apiReplica.url, 'POST', '/v1/destinations', key, {
      url: `${receiver.url}/crm/hooks`,
      event_types: ['call_completed'],
      // Well above the receiver's 2 s on a loaded machine: only the kill makes attempts fail. A killed
      // worker's attempt is declared lost after timeout_ms + 5 s; the retry follows at once.
      timeout_ms: 8_000,
      retry_schedule_s: [0, 1, 1, 2, 5, 10, 30],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const listed = await call(first.url, 'GET', '/v1/destinations', key);
    assert.equal(listed.status, 200);
    assert.deepEqual(
      (listed.body.items as { id: string }[]).map((d) => d.id),
      [created.body.id],
    );

    // Both workers take part before the stream begins: a delivery through the API replica (whose starts
    // are not eager, so either worker may run them) at a time until the worker replica has sent one.
    const workerDelivered = async () => counter(await (await fetch(`${workerReplica.url}/metrics`)).text(), 'voiceoi_delivery_attempts_total', 'class="2xx"');
    const warmups: string[] = [];
    await eventually(async () => {
      const id = `evt_warmup_${warmups.length}`;
      warmups.push(id);
      assert.equal((await call(apiReplica.url, 'POST', '/v1/events', key, callCompleted(id))).status, 202);
      return (await workerDelivered()) > 0;
    }, 'the worker replica to deliver an event', 120_000, 1_000);

    // 20 events a second, alternating between the two APIs; halfway both replicas die, and the rest
    // goes to the surviving API. Requests are not awaited one by one: the rate stays steady.
    const outcomes: Outcome[] = [];
    const pending: Promise<void>[] = [];
    const t0 = Date.now();
    let workerAttemptsBeforeKill = 0;
    for (let i = 0; i < EVENTS; i++) {
      if (i === KILL_AT) {
        workerAttemptsBeforeKill = await workerDelivered();
        await Promise.all([apiReplica.kill(), workerReplica.kill()]);
      }
      const wait = t0 + i * EVERY_MS - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const via = i < KILL_AT && i % 2 === 1 ? 'replica' : 'first';
      const outcome: Outcome = { id: `evt_failover_${i}`, via };
      outcomes.push(outcome);
      const sentAt = Date.now();
      pending.push(
        call(via === 'first' ? first.url : apiReplica.url, 'POST', '/v1/events', key, callCompleted(outcome.id)).then(
          (r) => {
            outcome.status = r.status;
            outcome.ms = Date.now() - sentAt;
            outcome.delivery = r.body?.deliveries?.[0]?.id;
          },
          (err: Error) => {
            outcome.error = `${err.message} (${(err.cause as Error | undefined)?.message ?? ''})`;
            outcome.ms = Date.now() - sentAt;
          },
        ),
      );
    }
    await Promise.all(pending);

    const accepted = outcomes.filter((o) => o.status === 202);
    const unanswered = outcomes.filter((o) => o.status === undefined);
    // The API replica took its share before the kill.
    assert.ok(accepted.filter((o) => o.via === 'replica').length >= 10, `the API replica accepted events before it was killed: ${JSON.stringify(outcomes.filter((o) => o.via === 'replica'))}`);
    // The surviving API answered everything it was sent, 202: a dead replica costs it nothing.
    assert.deepEqual(
      outcomes.filter((o) => o.via === 'first' && o.status !== 202),
      [],
    );
    // Only requests to the killed API may go unanswered; an answer other than 202 is a refusal.
    assert.deepEqual(
      outcomes.filter((o) => o.status !== undefined && o.status !== 202),
      [],
    );
    assert.deepEqual(unanswered.filter((o) => o.via !== 'replica'), []);

    const arrivals = () => {
      const counts = new Map<string, number>();
      for (const r of receiver.requests) {
        const id = String(r.headers['webhook-id']);
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      return counts;
    };
    // Every 202 reaches the receiver, including those whose attempt died with the worker replica
    // (Temporal declares it lost and the surviving worker retries it).
    const missing = (of: Outcome[]) => {
      const got = arrivals();
      return of.filter((o) => !got.has(o.id)).map((o) => `${o.id} (${o.via})`);
    };
    // On a time-out, the assertion names the events that never came.
    await eventually(async () => missing(accepted).length === 0, 'every accepted event at the receiver', 180_000, 500).catch(() => assert.deepEqual(missing(accepted), []));

    // An event whose request the killed API never answered may or may not have been accepted before it
    // died: either way is right, so nothing is asserted about those here. A producer sends it again with
    // the same id, and then it is accepted (the duplicate finishes any fan-out the dead API began).
    const arrivedUnasked = unanswered.filter((o) => arrivals().has(o.id)).length;
    for (const o of unanswered) {
      const again = await call(first.url, 'POST', '/v1/events', key, callCompleted(o.id));
      assert.equal(again.status, 202, JSON.stringify(again.body));
      o.delivery = again.body.deliveries[0].id;
    }
    await eventually(async () => missing(unanswered).length === 0, 'every re-sent event at the receiver', 180_000, 500).catch(() => assert.deepEqual(missing(unanswered), []));

    // Arrivals are counted once every delivery has ended: the retry of an attempt lost with the worker
    // comes only after that attempt's time-out.
    const ended = new Map<string, { status: string }>();
    for (const o of [...accepted, ...unanswered]) {
      ended.set(
        o.id,
        await eventually(async () => {
          const r = await call(first.url, 'GET', `/v1/deliveries/${encodeURIComponent(o.delivery!)}`, key);
          return r.status === 200 && r.body.status !== 'pending' && r.body.status !== 'retrying' ? r.body : undefined;
        }, `delivery ${o.delivery} to end`, 180_000, 500),
      );
    }
    assert.deepEqual([...ended].filter(([, d]) => d.status !== 'delivered').map(([id, d]) => `${id}: ${d.status}`), []);

    // At most twice: once from an attempt the dead worker sent but never recorded, once from the retry.
    const counts = arrivals();
    const sent = new Set([...warmups, ...outcomes.map((o) => o.id)]);
    assert.deepEqual(warmups.filter((id) => !counts.has(id)), []);
    assert.deepEqual([...counts.keys()].filter((id) => !sent.has(id)), []);
    assert.deepEqual([...counts].filter(([, n]) => n > 2), []);
    // The killed worker had requests out that it never saw answered: those are the ones sent twice (a
    // first attempt run inside the workflow task is run again as attempt 1, so the header may repeat).
    const twice = [...counts].filter(([, n]) => n === 2).length;
    assert.ok(twice > 0, `the kill -9 found attempts in flight, which the surviving worker retried (${workerAttemptsBeforeKill} attempts by the worker replica before the kill)`);
    process.stdout.write(
      `# ${accepted.length} accepted (${accepted.filter((o) => o.via === 'replica').length} by the API replica), ${unanswered.length} unanswered (${arrivedUnasked} of them arrived before being sent again), ${twice} delivered twice; ${workerAttemptsBeforeKill} attempts by the worker replica before the kill\n`,
    );
  });
});
