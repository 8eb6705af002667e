import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { rawHistory } from '../../bench/cost.ts';
import { countHistory, eventsBetween, eventTimeMs, totalActions } from '../../bench/lib/history-count.ts';
import { countedActivities } from './counted-activities.ts';
import { goSignal } from './counted-workflow.ts';

// The counter against a real history on the real dev server: a workflow whose events are known by
// construction (test/bench/counted-workflow.ts), counted the way the cost bench counts deliveries.
const taskQueue = `counted-${randomBytes(6).toString('hex')}`;
let connection: Connection;
let client: Client;
let nativeConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;

before(async () => {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run the tests with `npm test`');
  connection = await Connection.connect({ address });
  client = new Client({ connection, namespace: 'default' });
  nativeConnection = await NativeConnection.connect({ address });
  worker = await Worker.create({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowsPath: new URL('./counted-workflow.ts', import.meta.url).pathname,
    activities: countedActivities,
  });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running;
  await nativeConnection?.close();
  await connection?.close();
});

test('the cost counter counts a real history: tasks, markers by workflow task, retries, timers, upserts, signals and billable actions', async () => {
  const workflowId = `counted-${randomBytes(4).toString('hex')}`;
  const handle = await client.workflow.signalWithStart('countedWorkflow', { workflowId, taskQueue, signal: goSignal, signalArgs: [] });
  await handle.signal(goSignal);
  assert.equal(await handle.result(), 2);
  const history = await rawHistory(connection.workflowService, 'default', workflowId, handle.signaledRunId);
  const c = countHistory(history);

  assert.equal(c.events, history.events!.length);
  assert.ok(c.historyBytes > 500, `history bytes ${c.historyBytes}`);
  assert.equal(c.localActivityMarkers, 2);
  assert.equal(c.patchMarkers, 2);
  assert.equal(c.activityTasks, 1);
  assert.equal(c.activityAttempts, 2);
  assert.equal(c.timers, 2);
  // The SDK follows each patch marker with an upsert of TemporalChangeVersion, which is not billed.
  assert.equal(c.searchAttributeUpserts, 3);
  assert.equal(c.changeVersionUpserts, 2);
  assert.equal(c.signalsReceived, 2);
  assert.ok(c.workflowTasks >= 4, `workflow tasks ${c.workflowTasks}`);
  assert.equal(c.workflowTaskFailures, 0);
  assert.deepEqual(
    Object.fromEntries(Object.entries(c.actions).filter(([, v]) => v > 0)),
    {
      // Signal-With-Start: one action for the start and its signal; the second signal is another.
      'workflow started': 1,
      signal: 1,
      'activity scheduled': 1,
      'activity retry': 1,
      // The patch and both local activities were recorded by the first workflow task: one action.
      'marker batch with a local activity': 1,
      // The second patch is the only marker of its task: an action of its own.
      'marker batch of patches only': 1,
      'timer started': 2,
      'search-attribute upsert': 1,
    },
  );
  assert.equal(totalActions(c), 9);

  // A window keeps only the events inside it: a long-lived helper's share of a phase.
  const events = history.events!;
  const mid = eventTimeMs(events[Math.floor(events.length / 2)]!);
  const firstHalf = eventsBetween(history, 0, mid).events!;
  const secondHalf = eventsBetween(history, mid, Number.MAX_SAFE_INTEGER).events!;
  assert.equal(firstHalf.length + secondHalf.length, events.length);
  assert.ok(firstHalf.length > 0 && secondHalf.length > 0);
});
