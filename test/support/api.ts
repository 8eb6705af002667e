import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadConfig, type Config } from '../../src/config.ts';
import { loggerOptions } from '../../src/logger.ts';
import { buildApi, createCore, type Core } from '../../src/runtime.ts';
import type { DialectName } from '../../src/store/db.ts';
import { createTestDatabase, testDialect } from './postgres.ts';

export type CallOptions = { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> };
export type Answer = { status: number; body: any; headers: Headers };

/**
 * The HTTP API on its own, for route tests that start no delivery: the real store, network policy and
 * sandbox, answered through `app.inject` (no port). Its Temporal client never connects, so a route
 * that would reach Temporal fails instead of passing; such tests use startStack (stack.ts).
 */
export interface TestApi {
  /** The origin the API believes it is served at (the Host of every call). */
  url: string;
  adminToken: string;
  config: Config;
  core: Core;
  api: FastifyInstance;
  call(method: string, path: string, opts?: CallOptions): Promise<Answer>;
  createAccount(name?: string): Promise<{ id: string; api_key: string }>;
  stop(): Promise<void>;
}

/**
 * The configuration of a test process: its own data directory and admin token, loopback open (every
 * test receiver listens there). `database`: SQLite by default, or PostgreSQL in the twins test/run.ts
 * generates (testDialect); on PostgreSQL a fresh database and master keys, as a replica needs them
 * (an `env` DATABASE_URL is used as given: a test's own prepared database).
 */
export async function testConfig(env: Record<string, string>, database?: DialectName): Promise<{ config: Config; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'voiceoi-test-'));
  const onPostgres = env.DATABASE_URL ? {} : (database ?? testDialect()) === 'postgres' ? { DATABASE_URL: await createTestDatabase() } : {};
  const config = loadConfig({
    ...onPostgres,
    ...(onPostgres.DATABASE_URL || env.DATABASE_URL ? { VOICEOI_MASTER_KEYS: `k1:${randomBytes(32).toString('base64')}` } : {}),
    VOICEOI_DATA_DIR: dataDir,
    VOICEOI_ADMIN_TOKEN: `admin-${randomBytes(16).toString('hex')}`,
    LOG_LEVEL: 'silent',
    ...(process.env.TEMPORAL_ADDRESS ? { TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS } : {}),
    // Every test receiver listens on loopback, which the secure default refuses: the operator opens it.
    VOICEOI_ALLOWED_NETWORKS: '127.0.0.0/8',
    ...env,
  });
  return { config, dataDir };
}

/** An answer's body as JSON when it is JSON, else its text. */
export function parsedBody(text: string): any {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

/** The request headers `call` sends: the bearer token, and the JSON content type when there is a body. */
export function requestHeaders(o: CallOptions): Record<string, string> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined || o.raw !== undefined) headers['content-type'] ??= 'application/json';
  return headers;
}

/** One request to the API at `base` (a stack's, or a spawned product process's), answered as `call` answers. */
export async function callAt(base: string, method: string, path: string, o: CallOptions = {}): Promise<Answer> {
  const res = await fetch(base + path, { method, headers: requestHeaders(o), body: o.body !== undefined ? JSON.stringify(o.body) : o.raw });
  return { status: res.status, body: parsedBody(await res.text()), headers: res.headers };
}

/** The account factory (POST /v1/accounts with the admin token): its id and its API key. */
export async function createAccountWith(call: TestApi['call'], adminToken: string, name = 'Test BPO'): Promise<{ id: string; api_key: string }> {
  const r = await call('POST', '/v1/accounts', { token: adminToken, body: { name } });
  if (r.status !== 201) throw new Error(`account creation failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as { id: string; api_key: string };
}

/** `log`: where the API's log lines go (at `env`'s LOG_LEVEL), for a test that reads them. */
export async function startApi(env: Record<string, string> = {}, opts: { database?: DialectName; log?: (line: string) => void } = {}): Promise<TestApi> {
  const { config, dataDir } = await testConfig(env, opts.database);
  const core = await createCore(config);
  if (opts.log) core.logger = pino(loggerOptions(config.LOG_LEVEL), { write: opts.log });
  // Lazy: it would connect on its first call, and no route these tests reach makes one.
  const client = new Client({ connection: Connection.lazy({ address: config.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' }), dataConverter: core.dataConverter });
  const api = await buildApi(core, client);
  await api.ready();
  const url = 'http://api.test';
  const adminToken = config.VOICEOI_ADMIN_TOKEN!;
  const call: TestApi['call'] = async (method, path, o = {}) => {
    const res = await api.inject({
      method: method as 'GET',
      url: path,
      headers: { host: new URL(url).host, ...requestHeaders(o) },
      payload: o.body !== undefined ? JSON.stringify(o.body) : o.raw,
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [String(value)]) headers.append(name, v);
    }
    return { status: res.statusCode, body: parsedBody(res.body), headers };
  };
  return {
    url,
    adminToken,
    config,
    core,
    api,
    call,
    createAccount: (name) => createAccountWith(call, adminToken, name),
    async stop() {
      await api.close();
      await client.connection.close();
      await core.store.close();
      await core.engine.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
