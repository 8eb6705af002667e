// Temporal as a real server (go.temporal.io/server) on PostgreSQL, on this machine: the single-node
// production topology that bench/topology.ts measures beside the dev server. Run alone it starts the
// cluster, prints its address and keeps it up until Ctrl-C:
//   node --no-node-snapshot --import tsx bench/temporal-postgres.ts
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { cacheDir } from '../src/temporal/cli.ts';
import { prepareNamespace } from '../src/temporal/namespace.ts';
import { startPostgres } from '../test/support/postgres.ts';

/** The server release the pinned Temporal CLI's dev server embeds, so both run the same engine. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const MODULE = 'go.temporal.io/server';

export interface TemporalOnPostgres {
  address: string;
  /** The Temporal server and the PostgreSQL postmaster (its backends are its children). */
  pids(): { temporal: number; postgres: number | undefined };
  stop(): Promise<void>;
}

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

function go(args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync('go', args, { encoding: 'utf8', env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`go ${args.join(' ')} failed (exit ${r.status}): ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** A free loopback port below 32768: the cluster-membership table stores ports as smallint. */
async function freeLowPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** The server and temporal-sql-tool binaries, built once into the cache outside the clone, and the module's schema files. */
export function ensureTemporalServer(log: (l: string) => void): { server: string; sqlTool: string; schemaDir: string } {
  const bin = join(cacheDir(), 'temporal-server', TEMPORAL_SERVER_VERSION);
  const server = join(bin, 'server');
  const sqlTool = join(bin, 'sql');
  if (!executable(server) || !executable(sqlTool)) {
    log(`building ${MODULE} ${TEMPORAL_SERVER_VERSION} (server and temporal-sql-tool) into ${bin}: several minutes, once`);
    mkdirSync(bin, { recursive: true });
    go(['install', `${MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`, `${MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`], { GOBIN: bin });
  }
  const dir = JSON.parse(go(['mod', 'download', '-json', `${MODULE}@${TEMPORAL_SERVER_VERSION}`])).Dir as string;
  return { server, sqlTool, schemaDir: join(dir, 'schema', 'postgresql', 'v12') };
}

// The dev server's own dynamic config (temporal CLI 1.5.1 start-dev plus the flags src/temporal/dev-server.ts
// passes), so the two topologies differ in persistence and process layout, not in features.
const dynamicConfig = (forceSaRefresh: boolean) => `
system.enableActivityEagerExecution:
  - value: true
frontend.enableExecuteMultiOperation:
  - value: true
frontend.enableUpdateWorkflowExecution:
  - value: true
limit.maxIDLength:
  - value: 255
history.hostLevelCacheMaxSize:
  - value: 8096
frontend.namespaceRPS.visibility:
  - value: 100
system.forceSearchAttributesCacheRefreshOnRead:
  - value: ${forceSaRefresh}
`;

function serverConfig(p: { root: string; pgPort: number; db: string; visibilityDb: string; ports: Record<string, number>; logLevel: string }) {
  const store = (name: string, maxConns: number) => `
    ${name}:
      sql:
        pluginName: "postgres12"
        databaseName: "${name === 'default' ? p.db : p.visibilityDb}"
        connectAddr: "127.0.0.1:${p.pgPort}"
        connectProtocol: "tcp"
        user: "voiceoi"
        password: ""
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: "1h"`;
  const svc = (name: string, grpc: number, membership: number, http?: number) => `
  ${name}:
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${http}` : ''}`;
  const { ports } = p;
  return `log:
  stdout: true
  level: ${p.logLevel}
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:${store('default', 20)}${store('visibility', 10)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
services:${svc('frontend', ports.frontend!, ports.frontendMembership!, ports.http)}${svc('history', ports.history!, ports.historyMembership!)}${svc('matching', ports.matching!, ports.matchingMembership!)}${svc('worker', ports.worker!, ports.workerMembership!)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${ports.frontend}"
dcRedirectionPolicy:
  policy: "noop"
dynamicConfigClient:
  filepath: "${join(p.root, 'config', 'dynamicconfig.yaml')}"
  pollInterval: "5s"
`;
}

/**
 * PostgreSQL (fsync on, as production) with the two Temporal databases set up by temporal-sql-tool,
 * and the four Temporal services in one server process; namespace `default` with the product's
 * search attributes registered before anything starts workflows.
 */
export async function startTemporalOnPostgres(o: { log?: (l: string) => void; logLevel?: string } = {}): Promise<TemporalOnPostgres> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const { server, sqlTool, schemaDir } = ensureTemporalServer(log);
  const pg = await startPostgres({ durable: true });
  const pgPort = Number(new URL(pg.url).port);
  const root = mkdtempSync(join(tmpdir(), 'voiceoi-temporal-pg-'));
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000).then(() => child!.kill('SIGKILL'))]);
    }
    pg.stop();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const db = 'temporal';
    const visibilityDb = 'temporal_visibility';
    const sql = (database: string, ...args: string[]) => {
      const r = spawnSync(sqlTool, ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(pgPort), '-u', 'voiceoi', '--db', database, ...args], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`temporal-sql-tool ${args.join(' ')} failed: ${r.stderr || r.stdout}`);
    };
    for (const [database, schema] of [[db, 'temporal'], [visibilityDb, 'visibility']] as const) {
      sql(database, 'create');
      sql(database, 'setup-schema', '-v', '0.0');
      sql(database, 'update-schema', '-d', join(schemaDir, schema, 'versioned'));
    }
    const names = ['frontend', 'frontendMembership', 'http', 'history', 'historyMembership', 'matching', 'matchingMembership', 'worker', 'workerMembership'];
    const ports: Record<string, number> = {};
    for (const n of names) ports[n] = await freeLowPort();
    mkdirSync(join(root, 'config'));
    writeFileSync(join(root, 'config', 'development.yaml'), serverConfig({ root, pgPort, db, visibilityDb, ports, logLevel: o.logLevel ?? 'warn' }));
    // Search attributes registered below must be visible at once; switched off again before use.
    writeFileSync(join(root, 'config', 'dynamicconfig.yaml'), dynamicConfig(true));
    const out = openSync(join(root, 'server.log'), 'a');
    child = spawn(server, ['--root', root, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'], { stdio: ['ignore', out, out] });
    const address = `127.0.0.1:${ports.frontend}`;
    const deadline = Date.now() + 120_000;
    let connection: Connection | undefined;
    while (!connection) {
      if (child.exitCode !== null) throw new Error(`the Temporal server exited (${child.exitCode}):\n${readFileSync(join(root, 'server.log'), 'utf8').slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`the Temporal server did not answer on ${address} within 120 s`);
      try {
        connection = await Connection.connect({ address, connectTimeout: 2000 });
        await connection.workflowService.getSystemInfo({});
      } catch {
        await connection?.close();
        connection = undefined;
        await sleep(500);
      }
    }
    // The namespace may take a moment to reach every service after registration.
    for (;;) {
      try {
        await prepareNamespace(connection, 'default', 30);
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(1000);
      }
    }
    await connection.close();
    writeFileSync(join(root, 'config', 'dynamicconfig.yaml'), dynamicConfig(false));
    await sleep(6000); // one dynamic-config poll
    log(`Temporal ${TEMPORAL_SERVER_VERSION} on PostgreSQL at ${address} (data and logs in ${root})`);
    const temporalPid = child.pid!;
    return { address, pids: () => ({ temporal: temporalPid, postgres: pg.pid() }), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t = await startTemporalOnPostgres();
  process.stdout.write(`TEMPORAL_ADDRESS=${t.address}\n`);
  const bye = () => void t.stop().then(() => process.exit(0));
  process.once('SIGINT', bye);
  process.once('SIGTERM', bye);
}
