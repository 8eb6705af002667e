import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { loadKeyRing } from '../../src/crypto/keyring.ts';
import { workflowsPath } from '../../src/runtime.ts';
import { createEncryptionCodec } from '../../src/temporal/codec.ts';
import { FIXTURE_MASTER_KEYS } from '../fixtures/record-delivery-history.ts';

// The replay worker's state changes are INFO lines; only warnings belong in the test output.
Runtime.install({ logger: new DefaultLogger('WARN') });

// v1: recorded before the transform became a local activity (replays through the patch's old branch);
// current: recorded before the bounded-attempts patch (fixed 90 s attempt timeout, no continue-as-new);
// v2-*: recorded with that patch (test/fixtures/record-bounded-histories.ts): an attempt lost with its
// worker, and the first and last runs of a delivery that continued as new. Record a new one with
// test/fixtures/record-delivery-history.ts.
for (const name of ['v1-activity-transform', 'current', 'v2-lost-attempt', 'v2-continued', 'v2-continued-last']) test(`the recorded delivery history '${name}' replays against the current workflow code without non-determinism`, async () => {
  // Recorded as JSON; runReplayHistory reads that form itself (the SDK's public entry point).
  const history = JSON.parse(readFileSync(new URL(`../fixtures/delivery-history-${name}.json`, import.meta.url), 'utf8')) as { events?: unknown[] };
  assert.ok((history.events?.length ?? 0) > 10, 'the fixture holds a full delivery');
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
