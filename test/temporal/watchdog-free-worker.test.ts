import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions, type WorkflowBundle } from '@temporalio/worker';
import { WatchdogFreeWorker } from '../../src/temporal/watchdog-free-worker.ts';

// 3e8 steps take hundreds of milliseconds on any machine, far above the 20 ms deadlock limit set
// below and far below the 10 s workflow-task timeout.
const ITERATIONS = 300_000_000;
const address = process.env.TEMPORAL_ADDRESS;
let bundle: WorkflowBundle;
let native: NativeConnection;
let connection: Connection;
let client: Client;

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run the tests with `npm test`');
  bundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../fixtures/workflows/busy.ts', import.meta.url)),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  });
  native = await NativeConnection.connect({ address });
  connection = await Connection.connect({ address });
  client = new Client({ connection });
});
after(async () => {
  await connection?.close();
  await native?.close();
});

/** The workflow's result, or the message of its first failed workflow task (within 8 s). */
async function runBusyWorkflow(WorkerClass: typeof Worker): Promise<{ result?: number; taskFailure?: string }> {
  const taskQueue = `watchdog-${randomBytes(6).toString('hex')}`;
  // isolateExecutionTimeout is read by the SDK (WorkerOptionsWithDefaults) but left out of WorkerOptions' type.
  const options: WorkerOptions & { isolateExecutionTimeout: string } = { connection: native, taskQueue, workflowBundle: bundle, isolateExecutionTimeout: '20ms' };
  const worker = await WorkerClass.create(options);
  return worker.runUntil(async () => {
    const handle = await client.workflow.start('busyWorkflow', { taskQueue, workflowId: taskQueue, args: [ITERATIONS] });
    try {
      const deadline = Date.now() + 8000;
      while (Date.now() < deadline) {
        const { events } = await handle.fetchHistory();
        const failed = events?.find((e) => e.workflowTaskFailedEventAttributes)?.workflowTaskFailedEventAttributes;
        if (failed) return { taskFailure: failed.failure?.message ?? 'workflow task failed' };
        const completed = events?.find((e) => e.workflowExecutionCompletedEventAttributes);
        if (completed) return { result: await handle.result() };
        await new Promise((r) => setTimeout(r, 100));
      }
      return { taskFailure: 'neither a result nor a failed workflow task within 8 s' };
    } finally {
      await handle.terminate().catch(() => undefined);
    }
  });
}

test('the SDK worker fails a workflow task that computes past isolateExecutionTimeout (the watchdog this class removes)', async () => {
  const outcome = await runBusyWorkflow(Worker);
  assert.match(outcome.taskFailure ?? '', /timed out after 20ms/);
});

test('a WatchdogFreeWorker runs the same workflow task to completion: no vm timeout is armed', async () => {
  const outcome = await runBusyWorkflow(WatchdogFreeWorker);
  assert.equal(typeof outcome.result, 'number', outcome.taskFailure);
});
