import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startDevServer } from '../../src/temporal/dev-server.ts';
import { onCleanup, productEntry, repoRoot, spawnNode, waitForHttp, type ChildHandle } from './processes.ts';

/** Ports `npm start` uses: the benchmark never takes them, so it can run beside a developer's stack. */
const RESERVED_PORTS = new Set([3000, 7233, 8233]);

export async function benchPort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const p = await freePort();
    if (!RESERVED_PORTS.has(p)) return p;
  }
  throw new Error('no free loopback port outside the reserved ones');
}

export type Topology = 'single' | 'split';

export interface Target {
  name: string;
  url: string;
  token: string;
  /** The processes whose CPU and memory are reported, by role. */
  pids: Record<string, number>;
  /** From spawning the processes to the API answering /healthz (includes the worker's start). */
  startupS: number;
  /** The runtime's admin token, to create more accounts (not set for the floor). */
  adminToken?: string;
  /** Where the runtime's workflows run (not set for the floor). */
  temporal?: { address: string; namespace: string; taskQueue: string };
  stop(): Promise<void>;
}

export interface RuntimeOptions {
  dir: string;
  topology: Topology;
  /** Extra environment of the product's processes (a tuning variant). */
  env: Record<string, string>;
  devServerArgs: string[];
  receiverUrl: string;
  logLevel: string;
  /** More node flags for the product's processes (e.g. --cpu-prof to profile them). */
  nodeArgs?: string[];
  /** 'file' as `npm start` (SQLite file, fsync per commit); 'memory' to see what the disk costs. */
  temporalDb?: 'file' | 'memory';
  /**
   * An existing Temporal cluster (host:port, namespace `default`) instead of a dev server started here:
   * Temporal on its own cores or hosts. Its CPU is not in the report (it is not a local process).
   */
  temporalAddress?: string;
  /** The checkout whose `npm start` runs (default: this one), e.g. an older commit unpacked elsewhere. */
  appRoot?: string;
}

export async function json(url: string, init: { method: string; token: string; body: unknown }): Promise<any> {
  const res = await fetch(url, {
    method: init.method,
    headers: { authorization: `Bearer ${init.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(init.body),
  });
  const body = await res.json();
  if (res.status >= 300) throw new Error(`${init.method} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/**
 * The product as it runs in production: a Temporal dev server (file-backed, like `npm start`), then
 * either one process with worker + API (`npm start`) or an API and a worker process (`npm run api`,
 * `npm run worker`). An account and a destination pointing at the receiver are created through the API.
 */
export async function startRuntime(o: RuntimeOptions): Promise<Target> {
  mkdirSync(o.dir, { recursive: true });
  const dev = o.temporalAddress
    ? { address: o.temporalAddress, pid: undefined, stop: async () => {} }
    : await startDevServer({
    port: await benchPort(),
    namespace: 'default',
    headless: true,
    dbFile: o.temporalDb === 'memory' ? undefined : join(o.dir, 'temporal.db'),
    extraArgs: o.devServerArgs,
    log: (l) => process.stderr.write(`[bench] ${l}\n`),
  });
  const removeDev = onCleanup('temporal dev server', () => dev.stop());
  const port = await benchPort();
  const adminToken = `bench-admin-${randomBytes(16).toString('hex')}`;
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    VOICEOI_DATA_DIR: join(o.dir, 'app'),
    VOICEOI_ADMIN_TOKEN: adminToken,
    TEMPORAL_ADDRESS: dev.address,
    TEMPORAL_NAMESPACE: 'default',
    // Its own queue per run: on an external cluster, an earlier run's leftovers never reach this worker.
    VOICEOI_TASK_QUEUE: `bench-deliveries-${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: o.logLevel,
    // The receiver is on loopback, which the secure default refuses: the operator opens it.
    VOICEOI_ALLOWED_NETWORKS: '127.0.0.0/8',
    // No per-account ingest quota: a benchmark measures how much the install takes, from one account
    // (a variant measuring the quota sets its own).
    VOICEOI_INGEST_RATE_PER_S: '0',
    ...o.env,
  };
  const url = `http://127.0.0.1:${port}`;
  // Whatever `npm start` runs there: the JS build's dist/src/server.js, or src/server.ts through tsx.
  const entry = productEntry(o.appRoot ?? repoRoot);
  const nodeArgs = [...entry.nodeArgs, ...(o.nodeArgs ?? [])];
  const t0 = performance.now();
  const children: ChildHandle[] = [];
  if (o.topology === 'single') {
    children.push(spawnNode('app', entry.script, env, join(o.dir, 'app.log'), nodeArgs, o.appRoot));
    await waitForHttp(`${url}/healthz`, children[0]!);
  } else {
    // The API first: it creates the key ring and admin token files the worker then reads.
    const api = spawnNode('api', entry.script, { ...env, VOICEOI_ROLE: 'api' }, join(o.dir, 'api.log'), nodeArgs, o.appRoot);
    children.push(api);
    await waitForHttp(`${url}/healthz`, api);
    const worker = spawnNode('worker', entry.script, { ...env, VOICEOI_ROLE: 'worker', PORT: String(await benchPort()) }, join(o.dir, 'worker.log'), nodeArgs, o.appRoot);
    children.push(worker);
    await waitForLog(worker, 'VoiceOI Hooks is running');
  }
  const startupS = (performance.now() - t0) / 1000;

  const account = await json(`${url}/v1/accounts`, { method: 'POST', token: adminToken, body: { name: 'Bench BPO' } });
  await json(`${url}/v1/destinations`, {
    method: 'POST',
    token: account.api_key,
    body: { url: `${o.receiverUrl}/crm`, event_types: ['call_completed'] },
  });

  const pids: Record<string, number> = Object.fromEntries(children.map((c) => [c.name, c.pid]));
  if (dev.pid) pids['temporal'] = dev.pid;
  return {
    name: 'runtime',
    url,
    token: account.api_key as string,
    pids,
    startupS: Math.round(startupS * 10) / 10,
    adminToken,
    temporal: { address: dev.address, namespace: 'default', taskQueue: env.VOICEOI_TASK_QUEUE! },
    async stop() {
      for (const c of children.reverse()) await c.stop();
      await dev.stop();
      removeDev();
    },
  };
}

async function waitForLog(child: ChildHandle, text: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!child.tail(200).includes(text)) {
    if (child.process.exitCode !== null) throw new Error(`${child.name} exited while starting:\n${child.tail()}`);
    if (Date.now() > deadline) throw new Error(`${child.name} did not start within ${timeoutMs / 1000} s:\n${child.tail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The floor: bench/floor-server.ts, the ingest handler forwarding straight to the receiver. */
export async function startFloor(o: { dir: string; receiverUrl: string }): Promise<Target> {
  mkdirSync(o.dir, { recursive: true });
  const port = await benchPort();
  const token = `bench-floor-${randomBytes(12).toString('hex')}`;
  const t0 = performance.now();
  const child = spawnNode('floor', 'bench/floor-server.ts', { PORT: String(port), FLOOR_TARGET_URL: `${o.receiverUrl}/floor`, FLOOR_TOKEN: token }, join(o.dir, 'floor.log'));
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, child);
  return {
    name: 'floor',
    url,
    token,
    pids: { floor: child.pid },
    startupS: Math.round((performance.now() - t0) / 100) / 10,
    stop: () => child.stop(),
  };
}
