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
// first attempt as a local activity, delivered after one retry and at once. Record new ones with
// test/fixtures/record-delivery-history.ts.
const fixtures = readdirSync(new URL('../fixtures/', import.meta.url))
  .flatMap((f) => /^delivery-history-(.+)\.json$/.exec(f)?.[1] ?? [])
  .sort();

test('the fixtures include a history of every workflow shape', () => {
  for (const name of ['v1-activity-transform', 'current', 'v2-lost-attempt', 'v2-continued', 'v2-continued-last', 'v3', 'v3-delivered-first']) assert.ok(fixtures.includes(name), name);
});

for (const name of fixtures) test(`the recorded delivery history '${name}' replays against the current workflow code without non-determinism`, async () => {
  // Recorded as JSON; runReplayHistory reads that form itself (the SDK's public entry point).
  const history = JSON.parse(readFileSync(new URL(`../fixtures/delivery-history-${name}.json`, import.meta.url), 'utf8')) as { events?: { eventType?: string }[] };
  // A whole run: from its start to its end (completed, or continued as new).
  assert.equal(history.events?.[0]?.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
  assert.match(history.events?.at(-1)?.eventType ?? '', /^EVENT_TYPE_WORKFLOW_EXECUTION_(COMPLETED|CONTINUED_AS_NEW)$/);
  const keyRing = loadKeyRing({ masterKeys: FIXTURE_MASTER_KEYS, dataDir: '/nonexistent' });
  const bundlePath = process.env.VOICEOI_TEST_BUNDLE;
  await Worker.runReplayHistory(
    {
      ...(bundlePath ? { workflowBundle: { code: readFileSync(bundlePath, 'utf8') } } : { workflowsPath }),
      dataConverter: { payloadCodecs: [createEncryptionCodec(keyRing)] },
    },
    history,
    `delivery:fixture:${name}`,
  );
});
