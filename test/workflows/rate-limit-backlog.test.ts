import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { enqueueAtGates, limiterId } from '../../src/temporal/gates.ts';
import { decodeFirst } from '../../src/temporal/raw-decode.ts';
import type { RateLimiterCarry } from '../../workflows/rate-limiter.ts';
import type { PermitRequest } from '../../workflows/types.ts';
import { packKey, packWaiting, unpackKey, unpackWaiting } from '../../workflows/waiting-list.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';

/**
 * A run receives at most 10,000 signals and continues as new past 8,000 history events, so one run
 * carries about 7,900 waiters. With event ids of 190 characters (the API takes 200) that many waiters
 * cross 2 MB in the old form (each request whole); the test checks that they did.
 */
const BACKLOG = 8_400;
const EVENT_ID_CHARS = 190;
/** Sent this many at a time, wave after wave: the limiter's order is only defined between waves. */
const WAVE = 4;
const MAX_PAYLOAD = 2 * 1024 * 1024;

describe('the rate limiter carries its waiting list as ids only', () => {
  test('a key and a delivery id come back exactly as they were', () => {
    const queue: PermitRequest[] = [
      { key: `${randomUUID()}/1`, deliveryId: 'delivery:dst_a:evt_1', perS: 3 },
      { key: `${randomUUID()}/12`, deliveryId: 'delivery:dst_a:evt_1.retry~x', perS: 3 },
      // Not a run id: kept whole rather than guessed at.
      { key: 'not-a-uuid/1', deliveryId: 'delivery:dst_a:other', perS: 3 },
    ];
    assert.deepEqual(unpackWaiting(packWaiting(queue), 3), queue);
    assert.equal(packKey('not-a-uuid/1'), 'not-a-uuid/1');
    const key = `${randomUUID()}/7`;
    assert.equal(packKey(key).length, key.length - 13);
    assert.equal(unpackKey(unpackKey(packKey(key))), key);
  });
});

describe('a rate limiter with a backlog past the old 2 MB bound continues as new, keeping every waiter in order', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.stop();
  });

  test(`${BACKLOG} waiting permits with long event ids: the run continues as new carrying every waiter, oldest first, under 2 MB`, async () => {
    const run = randomBytes(4).toString('hex');
    const destination = `dst_backlog_${run}`;
    const limiter = limiterId(destination);
    const gates = { rateLimit: { limiter, perS: 1 } };
    // Plain permit requests, as the API sends them; no delivery runs behind them, so a permit granted
    // (1/s) goes nowhere and the rest stays waiting.
    const waves: PermitRequest[][] = [];
    for (let w = 0; w * WAVE < BACKLOG; w++)
      waves.push(
        Array.from({ length: WAVE }, () => ({
          key: `${randomUUID()}/1`,
          deliveryId: `delivery:${destination}:${randomBytes(EVENT_ID_CHARS).toString('base64url').slice(0, EVENT_ID_CHARS)}`,
          perS: 1,
        })),
      );
    for (const wave of waves) await Promise.all(wave.map((r) => enqueueAtGates(stack.client, stack.taskQueue, gates, r.deliveryId, r.key.slice(0, -'/1'.length))));
    const waveOf = new Map(waves.flatMap((wave, w) => wave.map((r) => [r.key, w] as const)));

    const continued = await eventually(async () => {
      for await (const wf of stack.client.workflow.list({ query: `WorkflowId = '${limiter}' AND ExecutionStatus = 'ContinuedAsNew'` })) return wf.runId;
      return undefined;
    }, 'the limiter to continue as new', 60_000);
    const history = await stack.client.workflow.getHandle(limiter, continued, { followRuns: false }).fetchHistory();
    const asked = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
    const input = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads;
    const carry = await decodeFirst<RateLimiterCarry>(stack.client.options.loadedDataConverter, input);
    const waiting = unpackWaiting(carry.waiting!, carry.perS);

    // Every request the run was asked for is carried but the few it granted (the oldest), in order.
    assert.ok(asked > 7000, `the run was asked ${asked} times`);
    assert.ok(asked - waiting.length < 60, `${asked - waiting.length} of ${asked} not carried`);
    assert.equal(new Set(waiting.map((r) => r.key)).size, waiting.length, 'each waiter once');
    const byKey = new Map(waves.flat().map((r) => [r.key, r]));
    for (const r of waiting) assert.deepEqual(r, byKey.get(r.key), 'carried as asked');
    const waveSeq = waiting.map((r) => waveOf.get(r.key)!);
    for (let i = 1; i < waveSeq.length; i++) assert.ok(waveSeq[i - 1]! <= waveSeq[i]!, `waiter ${i} (wave ${waveSeq[i]}) is behind one of a later wave`);

    // The same waiters as the old form carried them (each request whole) are past the limit; as ids they are not.
    const oldForm = JSON.stringify({ ...carry, waiting: undefined, queue: waiting });
    const bytes = input![0]!.data!.length;
    process.stdout.write(`carried ${waiting.length} waiters in ${bytes} bytes (${(bytes / waiting.length).toFixed(1)} B each); the old form: ${oldForm.length} bytes (${(oldForm.length / waiting.length).toFixed(1)} B each)\n`);
    assert.ok(oldForm.length > MAX_PAYLOAD, `the old form would have carried ${oldForm.length} bytes`);
    assert.ok(bytes < MAX_PAYLOAD, `carried ${bytes} bytes`);
    await stack.client.workflow.getHandle(limiter).terminate('test over');
  });
});
