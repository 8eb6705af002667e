import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { callCompleted } from './support/events.ts';
import { spawnApi, type ProductProcess } from './support/product-process.ts';
import { startStack, type Stack } from './support/stack.ts';
import { createPullDestination, openStream } from './support/streams.ts';

// Two API replicas on one PostgreSQL control plane: the stack's process (API and worker) and a second
// API process. A message the worker appends in one process reaches a stream and a long poll served by
// the other through LISTEN/NOTIFY: the heartbeat (which also re-reads) is a minute here, so only the
// notification can make it arrive within seconds.

describe('live streams across API replicas on PostgreSQL', () => {
  let stack: Stack;
  let replica: ProductProcess;
  let key: string;
  before(async () => {
    stack = await startStack({ VOICEOI_STREAM_HEARTBEAT_S: '60', VOICEOI_STREAMS_PER_ACCOUNT: '2' }, { database: 'postgres' });
    replica = await spawnApi(stack);
    key = (await stack.createAccount()).api_key;
  });
  after(async () => {
    await replica?.kill();
    await stack?.stop();
  });

  const ingest = async (id: string) => {
    const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(id) });
    assert.equal(r.status, 202);
  };
  const auth = () => ({ authorization: `Bearer ${key}` });

  test("a worker's message reaches a stream on the other replica promptly, and resuming on either replica serves each later message once", async () => {
    const dest = await createPullDestination(stack, key);
    const there = await openStream(replica.url, `/v1/destinations/${dest.id}/stream`, auth());
    assert.equal(there.status, 200);
    const t0 = Date.now();
    await ingest('evt_rep_1');
    const [first] = await there.take(1, 10_000);
    assert.equal(JSON.parse(first!.data!).event_id, 'evt_rep_1');
    assert.ok(Date.now() - t0 < 10_000, 'woken by the notification, not the one-minute heartbeat');
    there.close();

    await ingest('evt_rep_2');
    await ingest('evt_rep_3');
    const here = await openStream(stack.url, `/v1/destinations/${dest.id}/stream`, { ...auth(), 'last-event-id': first!.id! });
    const later = await here.take(2);
    assert.deepEqual(later.map((e) => JSON.parse(e.data!).event_id).sort(), ['evt_rep_2', 'evt_rep_3']);
    await assert.rejects(here.take(1, 1000), 'and nothing more');
    here.close();
  });

  test('a long poll on the other replica answers when the message is appended', async () => {
    const dest = await createPullDestination(stack, key);
    const polling = fetch(`${replica.url}/v1/destinations/${dest.id}/messages?wait_s=20`, { headers: auth() }).then((r) => r.json() as Promise<{ items: { event_id: string }[] }>);
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    await ingest('evt_rep_poll');
    const page = await polling;
    assert.deepEqual(page.items.map((m) => m.event_id), ['evt_rep_poll']);
    assert.ok(Date.now() - t0 < 10_000);
  });

  test('the bound on open streams holds across replicas', async () => {
    const dest = await createPullDestination(stack, key);
    const a = await openStream(stack.url, `/v1/destinations/${dest.id}/stream`, auth());
    const b = await openStream(replica.url, `/v1/destinations/${dest.id}/stream`, auth());
    assert.deepEqual([a.status, b.status], [200, 200]);
    for (const url of [stack.url, replica.url]) {
      const refused = await fetch(`${url}/v1/destinations/${dest.id}/stream`, { headers: auth() });
      assert.equal(refused.status, 429);
      await refused.arrayBuffer();
    }
    a.close();
    b.close();
  });

  test('deleting the destination through one replica ends its stream on the other', async () => {
    const dest = await createPullDestination(stack, key);
    const there = await openStream(replica.url, `/v1/destinations/${dest.id}/stream`, auth());
    assert.equal((await stack.call('DELETE', `/v1/destinations/${dest.id}`, { token: key })).status, 204);
    const [e] = await there.take(1, 10_000);
    assert.equal(e!.event, 'destination_deleted');
    assert.equal(await there.ended(), true);
  });
});
