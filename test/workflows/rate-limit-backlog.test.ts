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
 * A run continues as new past 8,000 history events: 2,000 to 8,000 signals, as the worker keeps up
 * (each workflow task adds 3). The test asks until a run carried so many waiters with event ids of
 * 190 characters (the API takes 200) that the old form (each request whole) is past 2 MB: about 7,000.
 */
const MAX_ASKED = 16_000;
const EVENT_ID_CHARS = 190;
/** Sent this many at a time, wave after wave: the limiter's order is only defined between waves. */
const WAVE = 4;
/** Waves between looks at the runs that continued as new. */
const LOOK_EVERY = 100;
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

// Opt-in (VOICEOI_TEST_BACKLOG=1): thousands of signals a few seconds apart at one workflow have killed
// the test process itself in 5 of 7 runs on this 2-core machine, with the old limiter and with this one
// alike: a Node fatal error in the SDK's workflow thread ("async hook stack has become corrupted"),
// not an assertion. Passed when it did not crash: 8,385 waiters carried in 1,836,925 bytes, the old
// form 2,465,671.
const backlogTest = process.env.VOICEOI_TEST_BACKLOG === '1' ? {} : { skip: 'set VOICEOI_TEST_BACKLOG=1: the signal flood can crash the SDK worker thread (see above)' };
describe('a rate limiter with a backlog past the old 2 MB bound continues as new, keeping every waiter in order', backlogTest, () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => {
    await stack.stop();
  });

  test('waiting permits with long event ids: a run continues as new carrying every waiter, oldest first, under 2 MB where the old form was over', async () => {
    const run = randomBytes(4).toString('hex');
    const destination = `dst_backlog_${run}`;
    const limiter = limiterId(destination);
    const gates = { rateLimit: { limiter, perS: 1 } };
    // Plain permit requests, as the API sends them; no delivery runs behind them, so a permit granted
    // (1/s) goes nowhere and the rest stays waiting.
    const waves: PermitRequest[][] = [];
    const waveOf = new Map<string, number>();
    const seenRuns = new Set<string>();
    /** The latest run that continued as new with a carry whose old form is past the limit. */
    const pastOldBound = async () => {
      const runs: { runId: string; start: number }[] = [];
      for await (const wf of stack.client.workflow.list({ query: `WorkflowId = '${limiter}' AND ExecutionStatus = 'ContinuedAsNew'` })) runs.push({ runId: wf.runId, start: wf.startTime.getTime() });
      for (const r of runs.sort((a, b) => b.start - a.start)) {
        if (seenRuns.has(r.runId)) break;
        seenRuns.add(r.runId);
        const history = await stack.client.workflow.getHandle(limiter, r.runId, { followRuns: false }).fetchHistory();
        const input = history.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads;
        const carry = await decodeFirst<RateLimiterCarry>(stack.client.options.loadedDataConverter, input);
        const waiting = unpackWaiting(carry.waiting!, carry.perS);
        const oldForm = JSON.stringify({ ...carry, waiting: undefined, queue: waiting });
        if (oldForm.length > MAX_PAYLOAD) return { bytes: input![0]!.data!.length, waiting, oldForm };
      }
      return undefined;
    };
    let found: Awaited<ReturnType<typeof pastOldBound>>;
    for (let w = 0; !found && w * WAVE < MAX_ASKED; w++) {
      const wave = Array.from({ length: WAVE }, () => ({
        key: `${randomUUID()}/1`,
        deliveryId: `delivery:${destination}:${randomBytes(EVENT_ID_CHARS).toString('base64url').slice(0, EVENT_ID_CHARS)}`,
        perS: 1,
      }));
      waves.push(wave);
      for (const r of wave) waveOf.set(r.key, w);
      await Promise.all(wave.map((r) => enqueueAtGates(stack.client, stack.taskQueue, gates, r.deliveryId, r.key.slice(0, -'/1'.length))));
      if (w % LOOK_EVERY === LOOK_EVERY - 1) found = await pastOldBound();
    }
    found ??= await eventually(pastOldBound, 'a run to continue as new past the old bound', 60_000);
    const { bytes, waiting, oldForm } = found;
    const asked = [...waveOf.keys()];
    const carriedUpTo = asked.indexOf(waiting.at(-1)!.key);

    // Every request asked before the last carried one is carried but the few granted (the oldest), in order.
    assert.ok(carriedUpTo + 1 - waiting.length < 100, `${carriedUpTo + 1 - waiting.length} of ${carriedUpTo + 1} not carried`);
    assert.equal(new Set(waiting.map((r) => r.key)).size, waiting.length, 'each waiter once');
    const byKey = new Map(waves.flat().map((r) => [r.key, r]));
    for (const r of waiting) assert.deepEqual(r, byKey.get(r.key), 'carried as asked');
    const waveSeq = waiting.map((r) => waveOf.get(r.key)!);
    for (let i = 1; i < waveSeq.length; i++) assert.ok(waveSeq[i - 1]! <= waveSeq[i]!, `waiter ${i} (wave ${waveSeq[i]}) is behind one of a later wave`);
    const carried = new Set(waiting.map((r) => r.key));
    for (const key of asked.slice(0, carriedUpTo)) assert.ok(carried.has(key) || waveOf.get(key)! <= waveSeq[0]!, `${key} was neither carried nor granted`);

    // The old form of those waiters was past the limit (the search stopped there); as ids they are under it.
    process.stdout.write(`carried ${waiting.length} waiters in ${bytes} bytes (${(bytes / waiting.length).toFixed(1)} B each); the old form: ${oldForm.length} bytes (${(oldForm.length / waiting.length).toFixed(1)} B each)\n`);
    assert.ok(bytes < MAX_PAYLOAD, `carried ${bytes} bytes`);
    await stack.client.workflow.getHandle(limiter).terminate('test over');
  });
});
