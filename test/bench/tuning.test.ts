import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadTuning } from '../../src/temporal/tuning.ts';

test('tuning defaults are the measured winners', () => {
  const t = loadTuning({});
  assert.equal(t.eagerWorkflowStart, true);
  assert.equal(t.eagerActivities, true);
  assert.equal(t.activitySlots, 1000);
  assert.equal(t.httpConnections, 128);
  assert.equal(t.workflowBundle, undefined);
});

test('tuning switches parse, and a wrong value names its variable', () => {
  const t = loadTuning({ VOICEOI_EAGER_WORKFLOW_START: 'false', VOICEOI_EAGER_ACTIVITIES: '0', VOICEOI_HTTP_CONNECTIONS: '8', VOICEOI_WORKER_WORKFLOW_POLLERS: '4' });
  assert.equal(t.eagerWorkflowStart, false);
  assert.equal(t.eagerActivities, false);
  assert.equal(t.httpConnections, 8);
  assert.equal(t.workflowPollers, 4);
  assert.throws(() => loadTuning({ VOICEOI_HTTP_CONNECTIONS: 'lots' }), /VOICEOI_HTTP_CONNECTIONS/);
  assert.throws(() => loadTuning({ VOICEOI_EAGER_WORKFLOW_START: 'maybe' }), /VOICEOI_EAGER_WORKFLOW_START/);
});
