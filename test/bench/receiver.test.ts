import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent, request } from 'undici';
import { startTimingReceiver } from '../../bench/lib/receiver.ts';

test('the timing receiver keys first-byte times by webhook-id over keep-alive connections and counts duplicates', async () => {
  const receiver = await startTimingReceiver();
  const agent = new Agent({ connections: 1 });
  try {
    const send = async (id?: string) => {
      const t0 = performance.now();
      const res = await request(`${receiver.url}/crm`, {
        method: 'POST',
        dispatcher: agent,
        headers: id ? { 'webhook-id': id, 'content-type': 'application/json' } : {},
        body: JSON.stringify({ pad: 'x'.repeat(20_000) }),
      });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
      return t0;
    };
    const t1 = await send('evt_1');
    const t2 = await send('evt_2');
    await send('evt_1');
    await send();
    // Each first byte falls after its own send started: no stale timestamp from an earlier body chunk.
    assert.ok(receiver.firstByte.get('evt_1')! >= t1);
    assert.ok(receiver.firstByte.get('evt_2')! >= t2);
    assert.equal(receiver.firstByte.size, 2);
    assert.equal(receiver.duplicates.get('evt_1'), 1);
    assert.equal(receiver.anonymous, 1);
  } finally {
    await agent.close();
    await receiver.close();
  }
});

test('under failFirstUnder the receiver answers 500 to the first request of each webhook-id and 200 after; okAt is the first 200', async () => {
  const receiver = await startTimingReceiver({ failFirstUnder: '/flaky' });
  try {
    const send = async (path: string, id: string) => {
      const res = await request(`${receiver.url}${path}`, { method: 'POST', headers: { 'webhook-id': id }, body: '{}' });
      await res.body.dump();
      return res.statusCode;
    };
    assert.equal(await send('/flaky', 'evt_a'), 500);
    assert.equal(receiver.okAt.has('evt_a'), false);
    assert.equal(await send('/flaky', 'evt_a'), 200);
    assert.equal(await send('/flaky', 'evt_a'), 200);
    assert.ok(receiver.okAt.get('evt_a')! > receiver.firstByte.get('evt_a')!);
    assert.equal(receiver.duplicates.get('evt_a'), 2);
    // Other paths are not affected.
    assert.equal(await send('/crm', 'evt_b'), 200);
    assert.equal(receiver.okAt.get('evt_b'), receiver.firstByte.get('evt_b'));
  } finally {
    await receiver.close();
  }
});
