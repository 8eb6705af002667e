import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../src/config.ts';
import { buildApi, createClient, createCore, startWorker, type Core, type WorkerHandle } from '../../src/runtime.ts';
import { targetFromConfig, type TemporalTarget } from '../../src/temporal/connection.ts';
import type { DialectName } from '../../src/store/db.ts';
import { createTestDatabase, testDialect } from './postgres.ts';

/**
 * The real product wired for one test file: its own SQLite file, its own task queue on the shared dev
 * server (test/run.ts), a real worker and the API on a loopback port.
 */
export interface Stack {
  url: string;
  adminToken: string;
  config: Config;
  core: Core;
  client: Client;
  connection: Connection;
  target: TemporalTarget;
  taskQueue: string;
  api: FastifyInstance;
  worker?: WorkerHandle;
  startWorker(): Promise<WorkerHandle>;
  stopWorker(): Promise<void>;
  call(method: string, path: string, opts?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  createAccount(name?: string): Promise<{ id: string; api_key: string }>;
  stop(): Promise<void>;
}

/**
 * `database`: where the control plane lives; by default SQLite, or PostgreSQL in the twins test/run.ts
 * generates (testDialect). On PostgreSQL each stack gets a fresh database and its own master keys, as
 * a replica needs them (an `env` DATABASE_URL is used as given: a test's own prepared database).
 */
export async function startStack(env: Record<string, string> = {}, opts: { worker?: boolean; database?: DialectName } = {}): Promise<Stack> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run the tests with `npm test`');
  const dataDir = mkdtempSync(join(tmpdir(), 'voiceoi-test-'));
  const taskQueue = `test-${randomBytes(6).toString('hex')}`;
  const onPostgres = env.DATABASE_URL ? {} : (opts.database ?? testDialect()) === 'postgres' ? { DATABASE_URL: await createTestDatabase() } : {};
  const config = loadConfig({
    ...onPostgres,
    ...(onPostgres.DATABASE_URL || env.DATABASE_URL ? { VOICEOI_MASTER_KEYS: `k1:${randomBytes(32).toString('base64')}` } : {}),
    VOICEOI_DATA_DIR: dataDir,
    VOICEOI_ADMIN_TOKEN: `admin-${randomBytes(16).toString('hex')}`,
    LOG_LEVEL: 'silent',
    TEMPORAL_ADDRESS: address,
    VOICEOI_TASK_QUEUE: taskQueue,
    // Every test receiver listens on loopback, which the secure default refuses: the operator opens it.
    VOICEOI_ALLOWED_NETWORKS: '127.0.0.0/8',
    ...env,
  });
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
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined = o.raw;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      } else if (o.raw !== undefined) headers['content-type'] ??= 'application/json';
      const res = await fetch(url + path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // keep text
      }
      return { status: res.status, body: parsed as any, headers: res.headers };
    },
    async createAccount(name = 'Test BPO') {
      const r = await stack.call('POST', '/v1/accounts', { token: stack.adminToken, body: { name } });
      if (r.status !== 201) throw new Error(`account creation failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as { id: string; api_key: string };
    },
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
