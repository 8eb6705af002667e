import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { loadKeyRing } from '../../src/crypto/keyring.ts';
import { workflowsPath } from '../../src/runtime.ts';
import { createEncryptionCodec } from '../../src/temporal/codec.ts';
import { FIXTURE_MASTER_KEYS } from '../fixtures/record-delivery-history.ts';

// The replay worker's state changes are INFO lines; only warnings belong in the test output.
Runtime.install({ logger: new DefaultLogger('WARN') });

// Every recorded history in test/fixtures/ replays: v1: recorded before the transform became a local
// activity (replays through the patch's old branch); current: recorded before the bounded-attempts patch
// (fixed 90 s attempt timeout, no continue-as-new); v2-*: recorded with that patch
// (test/fixtures/record-bounded-histories.ts): an attempt lost with its worker, and the first and last
// runs of a delivery that continued as new; v3, v3-delivered-first: one marker for every patch and the
// first attempt as a local activity, delivered after one retry and at once; v4-rate-limited,
// v4-per-call: deliveries that waited at their gates (a permit asked for by the retry itself; told
// whom they wait behind, then their turn); v5-*: the same four shapes under the voiceoi-v4 marker, whose
// deliveries without a mapping build their request in the workflow (no transform marker); v6-*: the same
// under voiceoi-v5 (slots, spread permits), and v6-slot-wait, a delivery that waited for a slot at a
// destination with max_in_flight 1 (its local attempt came back unsent, then the slot signal, then an
// ordinary activity); gate-history-v6-rate-limiter, a spreading limiter. gate-history-*: the gate workflows' own runs, replayed
// as the workflow type their history started (rateLimiterWorkflow, callSequencerWorkflow). Record new
// ones with test/fixtures/record-delivery-history.ts.
const fixtureFiles = readdirSync(new URL('../fixtures/', import.meta.url));
const fixtures = fixtureFiles.flatMap((f) => /^delivery-history-(.+)\.json$/.exec(f)?.[1] ?? []).sort();
const gateFixtures = fixtureFiles.flatMap((f) => /^gate-history-(.+)\.json$/.exec(f)?.[1] ?? []).sort();

test('the fixtures include a history of every workflow shape', () => {
  for (const name of ['v1-activity-transform', 'current', 'v2-lost-attempt', 'v2-continued', 'v2-continued-last', 'v3', 'v3-delivered-first', 'v4-rate-limited', 'v4-per-call', 'v5', 'v5-delivered-first', 'v5-rate-limited', 'v5-per-call', 'v6', 'v6-delivered-first', 'v6-rate-limited', 'v6-per-call', 'v6-slot-wait']) assert.ok(fixtures.includes(name), name);
  for (const name of ['v4-rate-limiter', 'v4-call-sequencer', 'v6-rate-limiter', 'v6-call-sequencer']) assert.ok(gateFixtures.includes(name), name);
});

type RecordedHistory = { events?: { eventType?: string; workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }[] };

/** Replays a whole recorded run (its start to its end: completed, or continued as new) against today's workflow code. */
async function replay(history: RecordedHistory, workflowId: string): Promise<void> {
  assert.equal(history.events?.[0]?.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
  assert.match(history.events?.at(-1)?.eventType ?? '', /^EVENT_TYPE_WORKFLOW_EXECUTION_(COMPLETED|CONTINUED_AS_NEW)$/);
  const keyRing = loadKeyRing({ masterKeys: FIXTURE_MASTER_KEYS, dataDir: '/nonexistent' });
  const bundlePath = process.env.VOICEOI_TEST_BUNDLE;
  // Recorded as JSON; runReplayHistory reads that form itself (the SDK's public entry point), and runs
  // the workflow type named in its first event.
  await Worker.runReplayHistory(
    {
      ...(bundlePath ? { workflowBundle: { code: readFileSync(bundlePath, 'utf8') } } : { workflowsPath }),
      dataConverter: { payloadCodecs: [createEncryptionCodec(keyRing)] },
    },
    history,
    workflowId,
  );
}
const readFixture = (file: string) => JSON.parse(readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8')) as RecordedHistory;

for (const name of fixtures) test(`the recorded delivery history '${name}' replays against the current workflow code without non-determinism`, async () => {
  await replay(readFixture(`delivery-history-${name}.json`), `delivery:fixture:${name}`);
});

for (const name of gateFixtures) test(`the recorded gate history '${name}' replays against the current gate workflow without non-determinism`, async () => {
  const history = readFixture(`gate-history-${name}.json`);
  const type = history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
  assert.ok(type === 'rateLimiterWorkflow' || type === 'callSequencerWorkflow', `a gate workflow's history, not ${type}`);
  await replay(history, `gate:fixture:${name}`);
});
