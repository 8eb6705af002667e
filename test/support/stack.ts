import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import type { Client, Connection } from '@temporalio/client';
import { buildApi, createClient, createCore, startWorker, type WorkerHandle } from '../../src/runtime.ts';
import { targetFromConfig, type TemporalTarget } from '../../src/temporal/connection.ts';
import type { DialectName } from '../../src/store/db.ts';
import { callAt, createAccountWith, testConfig, type TestApi } from './api.ts';

/**
 * The real product wired for one test file: its own SQLite file, its own task queue on the shared dev
 * server (test/run.ts), a real worker and the API on a loopback port. A route test that starts no
 * delivery needs none of that: startApi (api.ts).
 */
export interface Stack extends TestApi {
  client: Client;
  connection: Connection;
  target: TemporalTarget;
  taskQueue: string;
  worker?: WorkerHandle;
  startWorker(): Promise<WorkerHandle>;
  stopWorker(): Promise<void>;
}

/** `database`: where the control plane lives (testConfig in api.ts). */
export async function startStack(env: Record<string, string> = {}, opts: { worker?: boolean; database?: DialectName } = {}): Promise<Stack> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run the tests with `npm test`');
  const taskQueue = `test-${randomBytes(6).toString('hex')}`;
  const { config, dataDir } = await testConfig({ TEMPORAL_ADDRESS: address, VOICEOI_TASK_QUEUE: taskQueue, ...env }, opts.database);
  const core = await createCore(config);
  const target = targetFromConfig(config, address);
  const { client, connection } = await createClient(core, target);
  const bundlePath = process.env.VOICEOI_TEST_BUNDLE;
  const workflowBundle = bundlePath ? { code: readFileSync(bundlePath, 'utf8') } : undefined;

  const api = await buildApi(core, client);
  await api.listen({ port: 0, host: '127.0.0.1' });
  const addr = api.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

  const stack: Stack = {
    url,
    adminToken: config.VOICEOI_ADMIN_TOKEN!,
    config,
    core,
    client,
    connection,
    target,
    taskQueue,
    api,
    async startWorker() {
      // One in-process worker per stack: a test that failed before stopping its worker must not
      // leak one that keeps the test file's process alive after stop().
      await stack.stopWorker();
      stack.worker = await startWorker(core, target, { workflowBundle });
      return stack.worker;
    },
    async stopWorker() {
      await stack.worker?.stop();
      stack.worker = undefined;
    },
    call: (method, path, o = {}) => callAt(url, method, path, o),
    createAccount: (name) => createAccountWith(stack.call, stack.adminToken, name),
    async stop() {
      await api.close();
      await stack.stopWorker();
      await connection.close();
      await core.store.close();
      await core.engine.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  if (opts.worker !== false) await stack.startWorker();
  return stack;
}

/** Polls `fn` until it returns a truthy value (the value), failing with the last seen value. */
export async function eventually<T>(fn: () => Promise<T>, what: string, timeoutMs = 20_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** What GET /v1/deliveries/:id answers, as far as tests read it. */
export type Delivery = {
  id: string;
  status: string;
  reason?: string;
  attempts: { n: number; request?: { headers: Record<string, string> }; response?: { status: number }; error?: { code: string; message: string } }[];
};

const FINAL = new Set(['delivered', 'failed', 'cancelled', 'skipped']);

/** Waits until the delivery reaches a final status, and returns it (`T`: read more of it than Delivery). */
export async function settled<T = Delivery>(stack: Stack, token: string, id: string, timeoutMs = 30_000): Promise<T> {
  return eventually(async () => {
    const r = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}`, { token });
    return r.status === 200 && FINAL.has(r.body.status) ? (r.body as T) : undefined;
  }, `delivery ${id} to settle`, timeoutMs);
}
