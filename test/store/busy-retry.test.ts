import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { holdWriteLock } from '../support/sqlite-lock.ts';
import { settled, startStack, type Stack } from '../support/stack.ts';

describe('a database locked by another process', () => {
  let stack: Stack;
  let receiver: Receiver;
  let key: string;
  let file: string;
  before(async () => {
    stack = await startStack();
    receiver = await startReceiver();
    key = (await stack.createAccount()).api_key;
    const d = await stack.call('POST', '/v1/destinations', { token: key, body: { url: `${receiver.url}/busy`, event_types: ['call_completed'] } });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    file = join(stack.config.VOICEOI_DATA_DIR, 'voiceoi.db');
  });
  after(async () => {
    await stack.stop();
    await receiver.close();
  });

  test('writes wait it out off the event loop, then answer 503 database_busy with Retry-After; /metrics and /healthz answer meanwhile; the same requests succeed once it is released', async () => {
    const destination = { url: `${receiver.url}/second`, event_types: ['call_started'] };
    const event = callCompleted('evt_while_locked');
    // Creating a mapping is a transaction (its first version with it): BEGIN waits for the lock too.
    const mapping = { name: 'while locked', language: 'jsonata', source: '$' };
    const answered: string[] = [];
    const call = (what: string, ...args: Parameters<Stack['call']>) =>
      stack.call(...args).then((r) => {
        answered.push(what);
        return r;
      });

    const lock = await holdWriteLock(file);
    let write, ingest, transaction, metrics, health: Awaited<ReturnType<Stack['call']>>;
    try {
      const pending = [
        call('write', 'POST', '/v1/destinations', { token: key, body: destination }),
        call('ingest', 'POST', '/v1/events', { token: key, body: event }),
        call('transaction', 'POST', '/v1/mappings', { token: key, body: mapping }),
      ];
      // Let both reach the locked database before asking for the others.
      await new Promise((r) => setTimeout(r, 100));
      [metrics, health] = await Promise.all([call('metrics', 'GET', '/metrics'), call('healthz', 'GET', '/healthz')]);
      [write, ingest, transaction] = await Promise.all(pending);
    } finally {
      await lock.release();
    }

    // /metrics never touches the database: it answered while both writes were still waiting.
    assert.equal(metrics.status, 200);
    assert.ok(answered.indexOf('metrics') < answered.indexOf('write'), `answer order: ${answered.join(', ')}`);
    assert.ok(answered.indexOf('metrics') < answered.indexOf('ingest'), `answer order: ${answered.join(', ')}`);
    // Readers are not blocked by a writer (WAL): the health check reads, and answered before the release.
    assert.equal(health.status, 200, JSON.stringify(health.body));
    assert.equal(health.body.checks.database, 'ok');
    for (const r of [write!, ingest!, transaction!]) {
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.code, 'database_busy');
      assert.match(r.body.message, /locked/);
      assert.equal(r.headers.get('retry-after'), '1');
    }

    // Nothing was half-accepted: the producer's retry with the same id is a first delivery.
    const again = await stack.call('POST', '/v1/destinations', { token: key, body: destination });
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.equal((await stack.call('POST', '/v1/mappings', { token: key, body: mapping })).status, 201);
    const retried = await stack.call('POST', '/v1/events', { token: key, body: event });
    assert.equal(retried.status, 202, JSON.stringify(retried.body));
    assert.equal(retried.body.deliveries.length, 1);
    assert.equal((await settled(stack, key, retried.body.deliveries[0].id)).status, 'delivered');
    assert.deepEqual(receiver.requests.map((r) => r.headers['webhook-id']), ['evt_while_locked']);
  });
});
