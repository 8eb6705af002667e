import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { buildApi, createCore, createSharedClient, startWorker, type Core, type WorkerHandle } from '../../src/runtime.ts';
import { targetFromConfig } from '../../src/temporal/connection.ts';
import { deliveryWorkflow } from '../../workflows/delivery.ts';
import { callCompleted } from '../support/events.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';

// The wiring `npm start` uses when API and worker share a process: one NativeConnection for the
// client and the worker, and ingest asking for eager workflow start (the benchmark's tuning).
let dir: string;
let core: Core;
let shared: Awaited<ReturnType<typeof createSharedClient>>;
let worker: WorkerHandle;
let receiver: Receiver;
let url: string;
let api: Awaited<ReturnType<typeof buildApi>>;
const taskQueue = `eager-${randomBytes(6).toString('hex')}`;

before(async () => {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run the tests with `npm test`');
  dir = mkdtempSync(join(tmpdir(), 'voiceoi-eager-'));
  const config = loadConfig({ VOICEOI_DATA_DIR: dir, VOICEOI_ADMIN_TOKEN: `admin-${randomBytes(16).toString('hex')}`, LOG_LEVEL: 'silent', TEMPORAL_ADDRESS: address, VOICEOI_TASK_QUEUE: taskQueue, VOICEOI_ALLOWED_NETWORKS: '127.0.0.0/8' });
  core = await createCore(config);
  const target = targetFromConfig(config, address);
  shared = await createSharedClient(core, target);
  const bundlePath = process.env.VOICEOI_TEST_BUNDLE;
  worker = await startWorker(core, target, { sharedConnection: shared.connection, workflowBundle: bundlePath ? { code: readFileSync(bundlePath, 'utf8') } : undefined });
  api = await buildApi(core, shared.client, { eagerStart: true });
  await api.listen({ port: 0, host: '127.0.0.1' });
  const addr = api.server.address();
  url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  receiver = await startReceiver();
});

after(async () => {
  await api?.close();
  await worker?.stop();
  await shared?.connection.close();
  await receiver?.close();
  await core?.store.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = async (method: string, path: string, token: string, body: unknown) => {
  const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
};

test('an event ingested over the shared connection starts its delivery eagerly and reaches the receiver', async () => {
  const admin = core.config.VOICEOI_ADMIN_TOKEN!;
  const account = await call('POST', '/v1/accounts', admin, { name: 'Eager BPO' });
  assert.equal(account.status, 201);
  const dest = await call('POST', '/v1/destinations', account.body.api_key, { url: `${receiver.url}/crm`, event_types: ['call_completed'] });
  assert.equal(dest.status, 201);

  const res = await call('POST', '/v1/events', account.body.api_key, callCompleted('evt_eager_1'));
  assert.equal(res.status, 202);
  const [got] = await receiver.waitFor(1);
  assert.equal(got!.headers['webhook-id'], 'evt_eager_1');

  // The first workflow task came back with the start response: no WorkflowTaskScheduled → poll gap
  // is observable, so check the SDK's own answer on a start with the same options.
  const handle = await shared.client.workflow.start(deliveryWorkflow, {
    workflowId: `eager-probe-${randomBytes(4).toString('hex')}`,
    taskQueue,
    args: [{ deliveryId: 'probe', accountId: account.body.id, destinationId: 'dst_missing', event: { ...callCompleted('evt_eager_probe'), account_id: account.body.id }, acceptedAt: new Date().toISOString(), retryScheduleS: [0] }],
    requestEagerStart: true,
  });
  assert.equal(handle.eagerlyStarted, true);
  await handle.terminate('probe done').catch(() => undefined);
});
