// POST /v1/mappings/test listens for its client going away: a run still waiting for the sandbox is
// withdrawn (issue 19), so a flood of abandoned tests no longer keeps the sandbox busy for no one.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { callCompleted } from '../support/events.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';

describe('abandoned mapping tests', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({}, { worker: false });
  });
  after(() => stack.stop());

  test('tests whose client aborted leave the queue at once; the one running ends at its limit', async () => {
    const { api_key: key } = await stack.createAccount('Impatient BPO');
    const loop = await stack.call('POST', '/v1/mappings', {
      token: key,
      body: { name: 'loop', language: 'typescript', source: 'export default function transform(): null { for (;;) {} }', timeout_ms: 2_000 },
    });
    assert.equal(loop.status, 201, JSON.stringify(loop.body));
    const connections = new Agent();
    const client = new AbortController();
    const tests = Array.from({ length: 5 }, () =>
      fetch(`${stack.url}/v1/mappings/test`, {
        dispatcher: connections,
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ mapping_id: loop.body.id, event: callCompleted('evt_loop') }),
        signal: client.signal,
      }).then(
        (r) => r.status,
        () => 'aborted',
      ),
    );
    // One of the account's runs at a time is in the sandbox, the other four wait.
    await eventually(async () => stack.core.engine.stats().queued === 4 && stack.core.engine.stats().inFlight === 1, 'four tests to wait');
    const before = stack.core.engine.stats().cancelled;
    client.abort();
    assert.deepEqual(await Promise.all(tests), ['aborted', 'aborted', 'aborted', 'aborted', 'aborted']);
    const stats = await eventually(async () => {
      const s = stack.core.engine.stats();
      return s.queued === 0 ? s : undefined;
    }, 'the waiting tests to be withdrawn');
    // All four were withdrawn, none ran: had they stayed, each would have looped for 2 s after the first.
    assert.equal(stats.cancelled - before, 4);
    await connections.destroy();
  });
});
